package e2e

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// E2EEnv gates the suite: it starts a whole cluster, so `make test` skips it
// and `make test-e2e` sets it.
const E2EEnv = "ML_SCHEDULER_E2E"

// The sample overlay's tenants.
const (
	research, teamB           = "research", "team-b"
	researchDevs, teamBDevs   = "research-devs", "team-b-devs"
	researchUser, teamBUser   = "rita", "bob"
	sampleOverlay, samplePods = "manifests/overlays/sample", "manifests/overlays/sample/pods"
)

// The cluster the scenarios start from: CPU nodes in three zones, an A100
// pool (research's) and an L4 pool, both tainted as pools.
var initialNodes = []node{
	{name: "cpu-0", zone: "zone-a", cpu: "8", memory: "32Gi"},
	{name: "cpu-1", zone: "zone-b", cpu: "8", memory: "32Gi"},
	{name: "cpu-2", zone: "zone-c", cpu: "8", memory: "32Gi"},
	{name: "a100-0", zone: "zone-a", cpu: "64", memory: "512Gi", gpus: 8, gpuModel: "NVIDIA-A100-SXM4-80GB", pool: "a100"},
	{name: "a100-1", zone: "zone-b", cpu: "64", memory: "512Gi", gpus: 8, gpuModel: "NVIDIA-A100-SXM4-80GB", pool: "a100"},
	{name: "l4-0", zone: "zone-a", cpu: "32", memory: "128Gi", gpus: 4, gpuModel: "NVIDIA-L4", pool: "l4"},
	{name: "l4-1", zone: "zone-b", cpu: "32", memory: "128Gi", gpus: 4, gpuModel: "NVIDIA-L4", pool: "l4"},
}

// TestE2E runs every scenario on real v1.37.2 binaries started here.
func TestE2E(t *testing.T) {
	if os.Getenv(E2EEnv) == "" {
		t.Skipf("set %s=1 (make test-e2e) to start a cluster and run the e2e scenarios", E2EEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	begin := time.Now()
	env, cp := startLocal(ctx, t)
	install(ctx, t, env)
	createNodes(ctx, t, env, initialNodes...)
	checkDeployment(ctx, t, env)
	env.Replicas = startReplicas(ctx, t, env, cp, filepath.Join(cp.BinDir, "ml-scheduler"), 2)
	runScenarios(ctx, t, env)
	t.Logf("e2e finished in %v", time.Since(begin).Round(time.Second))
}

// runScenarios are the assertions shared by the local and the kind runs.
func runScenarios(ctx context.Context, t *testing.T, env *Env) {
	ok := t.Run("rbac-least-privilege", func(t *testing.T) { rbacLeastPrivilege(ctx, t, env) }) &&
		t.Run("coexistence", func(t *testing.T) { coexistence(ctx, t, env) }) &&
		t.Run("guard", func(t *testing.T) { guard(ctx, t, env) }) &&
		t.Run("leader-handover", func(t *testing.T) { leaderHandover(ctx, t, env) }) &&
		t.Run("rollout-broken-policy", func(t *testing.T) { rolloutBrokenPolicy(ctx, t, env) })
	// Last: the logs now cover every scenario.
	if ok {
		t.Run("rbac-sufficient", func(t *testing.T) { rbacSufficient(ctx, t, env) })
	}
}

// proved logs one line of what a scenario established (make test-e2e
// prints these).
func proved(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("PROVED: "+format, args...)
}

// allowed asks the apiserver whether user (in groups) may do attrs.
func allowed(ctx context.Context, t *testing.T, c kubernetes.Interface, user string, groups []string, attrs authzv1.ResourceAttributes) bool {
	t.Helper()
	sar, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{
		Spec: authzv1.SubjectAccessReviewSpec{User: user, Groups: groups, ResourceAttributes: &attrs},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

// describe renders attrs as "verb group/resource/sub ns/name".
func describe(a authzv1.ResourceAttributes) string {
	res := a.Resource
	if a.Group != "" {
		res = a.Group + "/" + res
	}
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	where := a.Namespace
	if a.Name != "" {
		where += "/" + a.Name
	}
	return strings.TrimSpace(a.Verb + " " + res + " " + where)
}

func insecureTransport() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
}
