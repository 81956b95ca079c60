# syntax=docker/dockerfile:1
# ml-scheduler image: a static binary on a distroless base, running as
# non-root. Build with `make image` (stamps the version like `make build`):
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t ml-scheduler:dev .

FROM golang:1.26 AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd/ cmd/
COPY pkg/ pkg/
ARG VERSION=dev
ARG GIT_COMMIT=unknown
ARG BUILD_DATE=unknown
ARG TARGETOS=linux
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    V=k8s.io/component-base/version && \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
      -ldflags "-s -w -X $V.gitVersion=v1.37.2+mlsched.${VERSION} -X $V.gitMajor=1 -X $V.gitMinor=37 \
                -X $V.gitCommit=${GIT_COMMIT} -X $V.buildDate=${BUILD_DATE}" \
      -o /out/ml-scheduler ./cmd/ml-scheduler && \
    /out/ml-scheduler --version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ml-scheduler /usr/local/bin/ml-scheduler
# The Deployment sets the same user; here too for `docker run`.
USER 65532:65532
EXPOSE 10259
ENTRYPOINT ["/usr/local/bin/ml-scheduler"]
