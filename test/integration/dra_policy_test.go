package integration

import (
	"testing"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

// draRulesPolicy confines share pods by pool and by GPU model, and keeps
// GPU nodes reserved (the default) for GPU pods.
const draRulesPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: dra-blue, nodeSelector: {matchLabels: {example.com/pool: blue}}}
rules:
- name: dra-pool
  match: {podSelector: {matchLabels: {example.com/needs: pool}}}
  pools: [dra-blue]
- name: dra-model
  match: {podSelector: {matchLabels: {example.com/needs: a100}}}
  gpuModels: [NVIDIA-A100]
- name: dra-cpu
  match: {podSelector: {matchLabels: {example.com/needs: cpu}}}
`

// TestDRAPolicyRules: the policy's rules apply to DRA GPU pods as to
// extended-resource ones. A share pod confined to a pool or a GPU model
// lands only there, and once that GPU is full waits with the policy's
// reason although another node's GPU is free; reserveGPUNodes keeps CPU
// pods off nodes whose GPUs are DRA devices.
func TestDRAPolicyRules(t *testing.T) {
	prof := draProfile{short: "ml", schedulerName: cluster.SchedulerName, setup: func(t *testing.T, dc *draCase) {
		dc.policy(draRulesPolicy)
	}}
	for _, tt := range []struct {
		name, scenario, needs, rule string
		// nodes creates the case's nodes and returns the one the pods
		// must land on and the free one they must not.
		nodes func(dc *draCase) (want, free string)
		// refusal is in the policy's reason for the free node.
		refusal string
	}{{
		name: "pool", scenario: "rule-pool", needs: "pool", rule: "dra-pool",
		nodes: func(dc *draCase) (string, string) {
			return dc.gpuNode("blue", "NVIDIA-T4", 1, map[string]string{"example.com/pool": "blue"}),
				dc.gpuNode("green", "NVIDIA-T4", 1, map[string]string{"example.com/pool": "green"})
		},
		refusal: "pool dra-blue",
	}, {
		// No model label on these nodes: the model is their devices' productName.
		name: "GPU model from the devices", scenario: "rule-model", needs: "a100", rule: "dra-model",
		nodes: func(dc *draCase) (string, string) {
			return dc.draNode("a100", "NVIDIA-A100", 1, nil), dc.draNode("t4", "NVIDIA-T4", 1, nil)
		},
		refusal: "NVIDIA-A100",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			dc := newDRACase(t, prof, tt.scenario)
			want, free := tt.nodes(dc)
			labels := map[string]string{"example.com/needs": tt.needs}
			var shares []cluster.DeviceShare
			for _, name := range []string{"s0", "s1", "s2"} {
				dc.share(name, 300, labels)
				shares = append(shares, dc.boundShare(name, want, 300))
				dc.expectRule(dc.podOf(name), tt.rule)
			}
			dc.share("s3", 300, labels)
			msg := dc.waiting("s3", tt.refusal, "rule "+tt.rule)
			t.Logf("PROVED: three 0.3 shares of rule %s all went to %s (%s), none to %s; a fourth waits although %s's GPU is free: %q",
				tt.rule, want, fmtShares(shares...), free, free, msg)
		})
	}

	t.Run("reserveGPUNodes", func(t *testing.T) {
		dc := newDRACase(t, prof, "rule-reserve")
		gpu := dc.gpuNode("gpu", "NVIDIA-A100", 1, nil)
		dc.nodes(cpuNode(dc.node("cpu"), "4", "16Gi", nil))
		small := dc.spec("small", map[string]string{"example.com/needs": "cpu"})
		dc.place(small, "dra-cpu", dc.node("cpu"))
		big := dc.spec("big", map[string]string{"example.com/needs": "cpu"})
		big.CPU = "8" // more than the CPU node has; the DRA GPU node has 32
		dc.pod(big)
		msg := dc.waiting("big", "rule dra-cpu", "nodes without GPUs (it requests none and reserveGPUNodes is on): 1 node(s) qualify", "1 Insufficient cpu")
		t.Logf("PROVED: with reserveGPUNodes a CPU pod went to the CPU node, and one too big for it waits rather than take %s, whose GPU is a DRA device (no nvidia.com/gpu in its allocatable): %q", gpu, msg)
	})
}
