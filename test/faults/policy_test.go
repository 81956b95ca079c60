package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// Rules of the test policies; a pod's rule annotation must name the one of
// its namespace.
const ruleConfined, ruleFree = "confined", "free"

// policies is what the test wrote into a scenario's ConfigMap: each valid
// policy by the hash the scheduler stamps on the pods it places.
type policies struct {
	w         *world
	mu        sync.Mutex
	byHash    map[string]string // hash -> the pool the confined namespace gets
	lastValid string
	writes    int
	invalid   int
}

func newPolicies(w *world) *policies { return &policies{w: w, byHash: map[string]string{}} }

// text is the valid policy confining the confined namespace to pool, the
// free one to poolC, GPU nodes reserved for GPU pods (the default).
func (ps *policies) text(pool string) string {
	sel := func(p string) string {
		return fmt.Sprintf("{matchLabels: {%s: %s, %s: %s}}", scenarioLabel, ps.w.short, poolLabel, p)
	}
	return fmt.Sprintf(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: pool-a, nodeSelector: %s}
- {name: pool-b, nodeSelector: %s}
- {name: pool-c, nodeSelector: %s}
rules:
- name: %s
  match: {namespaces: [%s]}
  pools: [pool-%s]
- name: %s
  match: {namespaces: [%s]}
  pools: [pool-c]
`, sel(poolA), sel(poolB), sel(poolC), ruleConfined, ps.w.confNS, pool, ruleFree, ps.w.freeNS)
}

// invalidText is the i-th of three kinds of policy the scheduler refuses:
// a rule naming a missing pool, YAML that does not parse, an unknown field.
func (ps *policies) invalidText(i int) string {
	switch i % 3 {
	case 0:
		return "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\nrules:\n- {name: x, pools: [missing]}\n"
	case 1:
		return "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\nrules: [\n"
	default:
		return ps.text(poolA) + fmt.Sprintf("bogusField%d: 1\n", i)
	}
}

// valid loads a valid policy text, records its hash and returns it.
func (ps *policies) valid(pool string) (string, string, error) {
	text := ps.text(pool)
	p, err := policy.Load([]byte(text))
	if err != nil {
		return "", "", fmt.Errorf("test policy for pool %s is invalid: %w", pool, err)
	}
	ps.mu.Lock()
	ps.byHash[p.Hash()] = pool
	ps.mu.Unlock()
	return text, p.Hash(), nil
}

// apply writes a valid policy confining the confined namespace to pool
// (creating the ConfigMap if needed) and returns its hash.
func (ps *policies) apply(ctx context.Context, pool string) (string, error) {
	text, hash, err := ps.valid(pool)
	if err != nil {
		return "", err
	}
	if err := cluster.ApplyPolicy(ctx, env.client, mlNamespace, ps.w.policyName, text); err != nil {
		return "", err
	}
	ps.wrote(hash)
	return hash, nil
}

func (ps *policies) wrote(validHash string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.writes++
	if validHash == "" {
		ps.invalid++
		return
	}
	ps.lastValid = validHash
}

// patch rewrites policy.yaml with a merge patch: no read, and no conflict
// with the status annotations the scheduler writes on the same object.
func (ps *policies) patch(ctx context.Context, text string) error {
	body, err := json.Marshal(map[string]any{"data": map[string]string{"policy.yaml": text}})
	if err != nil {
		return err
	}
	_, err = env.client.CoreV1().ConfigMaps(mlNamespace).Patch(ctx, ps.w.policyName, types.MergePatchType, body, metav1.PatchOptions{})
	return err
}

// recreate deletes the ConfigMap and, pause later, creates it with text.
func (ps *policies) recreate(ctx context.Context, text string, pause time.Duration) error {
	cms := env.client.CoreV1().ConfigMaps(mlNamespace)
	if err := cms.Delete(ctx, ps.w.policyName, metav1.DeleteOptions{}); err != nil {
		return err
	}
	time.Sleep(pause)
	_, err := cms.Create(ctx, &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: ps.w.policyName, Namespace: mlNamespace},
		Data:       map[string]string{"policy.yaml": text},
	}, metav1.CreateOptions{})
	return err
}

// poolOf is the pool the policy with hash gives the confined namespace.
func (ps *policies) poolOf(hash string) (string, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.byHash[hash]
	return p, ok
}
