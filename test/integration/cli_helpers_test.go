package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// cliResult is one run of the kubectl-mlsched binary.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the kubectl-mlsched binary `make build` put beside
// ml-scheduler (ML_SCHEDULER_BIN_DIR, default .cache/bin) as a user would,
// with the control plane's admin kubeconfig, and returns its output and exit
// code. The test fails if the binary is missing or does not finish in 3 min.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	dir := os.Getenv("ML_SCHEDULER_BIN_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", ".cache", "bin")
	}
	bin := filepath.Join(dir, "kubectl-mlsched")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("kubectl-mlsched binary: %v (make build builds it)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", env.cp.Kubeconfig}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running kubectl-mlsched %v: %v", args, err)
	}
	t.Logf("$ kubectl mlsched %v  (exit %d)\n%s%s", args, r.code, r.stdout, r.stderr)
	return r
}
