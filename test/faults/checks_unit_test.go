package faults

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
)

// TestChecksCatch runs without a cluster: each offline check fails on a
// placement that breaks what it guards, and passes on one that does not.
func TestChecksCatch(t *testing.T) {
	w := newWorld("unit", 40)
	ps := newPolicies(w)
	_, hashA, err := ps.valid(poolA)
	if err != nil {
		t.Fatal(err)
	}
	_, hashB, err := ps.valid(poolB)
	if err != nil {
		t.Fatal(err)
	}
	node := func(pool, kind string) string { return w.short + "-" + pool + "-" + kind + "-0" }
	pod := func(ns, kind, nodeName, hash, rule string) *v1.Pod {
		spec := cluster.PodSpec{Name: kind + "-x", Namespace: ns, CPU: "200m", Memory: "256Mi", Labels: map[string]string{kindLabel: kind}}
		if kind == kindGPU {
			spec.GPUs = 1
		}
		p := spec.Pod()
		p.Spec.NodeName = nodeName
		p.Annotations = map[string]string{mlpolicy.AnnotationPolicyHash: hash, mlpolicy.AnnotationRule: rule}
		return p
	}
	for _, tt := range []struct {
		name string
		pod  *v1.Pod
		want string // "" for no failure
	}{
		{"confined pod in the pool of its policy", pod(w.confNS, kindCPU, node(poolA, kindCPU), hashA, ruleConfined), ""},
		{"confined pod under the other policy", pod(w.confNS, kindCPU, node(poolB, kindCPU), hashB, ruleConfined), ""},
		{"confined pod outside its policy's pool", pod(w.confNS, kindCPU, node(poolB, kindCPU), hashA, ruleConfined), "confines its namespace to pool \"a\""},
		{"free pod outside pool c", pod(w.freeNS, kindCPU, node(poolA, kindCPU), hashA, ruleFree), "pool \"c\""},
		{"unknown hash", pod(w.freeNS, kindCPU, node(poolC, kindCPU), "0123456789abcdef", ruleFree), "not one of the valid policies"},
		{"wrong rule", pod(w.freeNS, kindCPU, node(poolC, kindCPU), hashA, ruleConfined), "rule \"confined\", want \"free\""},
		{"CPU pod on a GPU node", pod(w.freeNS, kindCPU, node(poolC, kindGPU), hashA, ruleFree), "reserveGPUNodes"},
		{"GPU pod on a CPU node", pod(w.freeNS, kindGPU, node(poolC, kindCPU), hashA, ruleFree), "on cpu node"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := &verdict{}
			placedByPolicy(v, w, ps, map[string]*v1.Pod{"x": tt.pod})
			got := strings.Join(v.failures, "\n")
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("failures %q, want one containing %q", got, tt.want)
			}
		})
	}

	t.Run("over-committed GPU node", func(t *testing.T) {
		name := node(poolC, kindGPU)
		n, err := cluster.NodeSpec{Name: name, CPU: "64", Memory: "512Gi", GPUs: 8}.Node()
		if err != nil {
			t.Fatal(err)
		}
		pods := map[string]*v1.Pod{}
		for i := 0; i < 9; i++ {
			p := pod(w.freeNS, kindGPU, name, hashA, ruleFree)
			p.Name += string(rune('a' + i))
			pods[p.Name] = p
		}
		v := &verdict{}
		overcommit(v, w, []v1.Node{*n}, pods)
		if len(v.failures) != 1 || !strings.Contains(v.failures[0], "nvidia.com/gpu") {
			t.Errorf("9 GPU pods on 8 GPUs: failures %q", v.failures)
		}
		delete(pods, "gpu-xa")
		v = &verdict{}
		overcommit(v, w, []v1.Node{*n}, pods)
		if len(v.failures) != 0 {
			t.Errorf("8 GPU pods on 8 GPUs: failures %q", v.failures)
		}
	})

	t.Run("partial gang", func(t *testing.T) {
		var gang unit
		for _, u := range w.units {
			if u.group != "" {
				gang = u
				break
			}
		}
		pods := map[string]*v1.Pod{}
		for i, pl := range gang.pods {
			p := pod(pl.ns, kindGang, "", hashA, ruleFree)
			if i > 0 {
				p.Spec.NodeName = node(poolC, kindCPU)
			}
			pods[pl.key()] = p
		}
		v := &verdict{}
		gangsWhole(v, &world{units: []unit{gang}}, pods)
		if len(v.failures) != 1 || !strings.Contains(v.failures[0], "3 of 4 members bound") {
			t.Errorf("failures %q", v.failures)
		}
	})
}
