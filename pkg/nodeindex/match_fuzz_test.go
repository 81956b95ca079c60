package nodeindex

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// FuzzMatchAndAdmit checks the plugin's matching against Kubernetes' own
// label selectors, on fuzzed policies, pods and nodes: the rule Match picks
// is the first whose namespaces and pod selector (as written in the policy,
// converted by metav1.LabelSelectorAsSelector) accept the pod, or the
// default; Classify puts the node in exactly the pools whose nodeSelector
// accepts its labels; and the index admits the node for the rule exactly
// when Admits does. Nothing may panic. `make fuzz` runs it; its corpus in
// testdata/fuzz is replayed by `make test`.
func FuzzMatchAndAdmit(f *testing.F) {
	const header = "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\n"
	for _, s := range []struct{ policy, ns, podLabels, nodeLabels string }{
		{header, "team-a", "", "pool=a"},
		{header + "pools: [{name: a, nodeSelector: {matchLabels: {pool: a}}}]\nrules: [{name: r, match: {namespaces: [team-a]}, pools: [a]}]\n", "team-a", "app=x", "pool=a,nvidia.com/gpu.product=A100"},
		{header + "pools: [{name: a, nodeSelector: {matchExpressions: [{key: pool, operator: In, values: [a, b]}]}}, {name: b, nodeSelector: {matchExpressions: [{key: zone, operator: DoesNotExist}]}, ownerNamespaces: [team-b]}]\nrules: [{name: r1, match: {podSelector: {matchLabels: {app: x}}}, pools: [b]}, {name: r2, match: {namespaces: [team-a, team-b]}, gpuModels: [A100]}]\nreserveGPUNodes: true\n", "team-b", "app=x,tier=1", "pool=b,zone=z1"},
		{header + "rules: [{name: r, match: {podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [y]}, {key: tier, operator: Exists}]}}}]\ndefault: {gpuModels: [T4]}\n", "x", "tier=2", "nvidia.com/gpu.product=T4"},
	} {
		f.Add(s.policy, s.ns, s.podLabels, s.nodeLabels, uint8(2), true)
	}
	f.Fuzz(func(t *testing.T, text, namespace, podLabels, nodeLabels string, gpus uint8, wantsGPU bool) {
		c, err := policy.Load([]byte(text))
		if err != nil {
			return
		}
		podSet, err := labels.ConvertSelectorToLabelsMap(podLabels)
		if err != nil {
			return
		}
		nodeSet, err := labels.ConvertSelectorToLabelsMap(nodeLabels)
		if err != nil {
			return
		}
		pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "p", Labels: podSet}}
		src := c.Source()

		// Match: the first rule accepting the pod, by the written selectors.
		want := len(src.Rules)
		for i, r := range src.Rules {
			if len(r.Match.Namespaces) > 0 && !slices.Contains(r.Match.Namespaces, namespace) {
				continue
			}
			if r.Match.PodSelector != nil {
				sel, err := metav1.LabelSelectorAsSelector(r.Match.PodSelector)
				if err != nil {
					t.Fatalf("Load accepted rule %d's podSelector but LabelSelectorAsSelector refuses it: %v", i, err)
				}
				if !sel.Matches(podSet) {
					continue
				}
			}
			want = i
			break
		}
		rule := c.Match(pod)
		if rule == nil || rule.Index != want {
			t.Fatalf("Match picked %+v, want rule index %d (namespace %q, labels %v)", rule, want, namespace, podSet)
		}

		// Classify: pool membership by the written node selectors.
		node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: nodeSet}}
		if gpus > 0 {
			q := *resource.NewQuantity(int64(gpus), resource.DecimalSI)
			node.Status.Allocatable = v1.ResourceList{c.GPUResources[0]: q}
		}
		nc := c.Classify(node)
		for i, p := range src.Pools {
			sel, err := metav1.LabelSelectorAsSelector(p.NodeSelector)
			if err != nil {
				t.Fatalf("Load accepted pool %s's nodeSelector but LabelSelectorAsSelector refuses it: %v", p.Name, err)
			}
			var one policy.PoolSet
			one.Add(i)
			if in := nc.Pools.Intersects(&one); in != sel.Matches(nodeSet) {
				t.Fatalf("node %v in pool %s: Classify says %v, the selector %v", nodeSet, p.Name, in, !in)
			}
		}
		if nc.GPUs != int64(gpus) || nc.Model != nodeSet[c.GPUModelLabel] {
			t.Fatalf("class GPUs %d model %q, want %d %q", nc.GPUs, nc.Model, gpus, nodeSet[c.GPUModelLabel])
		}

		// The index admits the node for the rule exactly when Admits does.
		ix := New()
		ix.SetPolicy(c)
		ix.UpsertNode(node)
		view := ix.View()
		got := view.Admitted(rule, wantsGPU).Has("n")
		if wantVerdict := c.Admits(rule, &nc, wantsGPU, &everyPool); got != (wantVerdict == policy.VerdictOK) {
			t.Fatalf("index admits node: %v; Admits says %v", got, wantVerdict)
		}
	})
}
