package simulator

import (
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

func TestFitsSomeEmptyNode(t *testing.T) {
	tainted := node("tainted-v100", "8", 8, "V100")
	tainted.Spec.Taints = []v1.Taint{{Key: "dedicated", Value: "training", Effect: v1.TaintEffectNoSchedule}}
	preferOnly := node("prefer-v100", "8", 8, "V100")
	preferOnly.Spec.Taints = []v1.Taint{{Key: "soft", Effect: v1.TaintEffectPreferNoSchedule}}
	tolerant := pod("tolerant", "4", 8)
	tolerant.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "training", Effect: v1.TaintEffectNoSchedule}}

	for _, tc := range []struct {
		name  string
		pod   *v1.Pod
		nodes []*v1.Node
		want  bool
	}{
		{"fits", pod("p", "4", 2), []*v1.Node{node("a", "8", 2, "T4")}, true},
		{"too many GPUs", pod("p", "4", 4), []*v1.Node{node("a", "8", 2, "T4")}, false},
		{"too much CPU on the GPU node", pod("p", "16", 1), []*v1.Node{node("a", "8", 2, "T4"), node("cpu", "32", 0, "")}, false},
		{"GPU model nobody has", pod("p", "1", 1, "A100"), []*v1.Node{node("a", "8", 2, "T4")}, false},
		{"one of its models", pod("p", "1", 1, "A100", "T4"), []*v1.Node{node("a", "8", 2, "T4")}, true},
		{"untolerated NoSchedule taint", pod("p", "4", 8), []*v1.Node{tainted}, false},
		{"tolerated taint", tolerant, []*v1.Node{tainted}, true},
		{"PreferNoSchedule does not keep it off", pod("p", "4", 8), []*v1.Node{preferOnly}, true},
		{"no nodes", pod("p", "1", 0), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fitsSomeEmptyNode(tc.pod, tc.nodes, &gpuCounter{res: trace.DefaultGPUResource}); got != tc.want {
				t.Errorf("fitsSomeEmptyNode = %v, want %v", got, tc.want)
			}
		})
	}
}
