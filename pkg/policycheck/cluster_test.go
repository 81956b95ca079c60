package policycheck

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

// testCluster: two A100 nodes (8 GPUs, pool=train), two L4 nodes (2 GPUs,
// pool=infer, l4-0 also rack=r1) and a CPU node; namespaces a, b, c.
func testCluster(pending ...*v1.Pod) *Cluster {
	return &Cluster{
		Nodes: []*v1.Node{
			gpuNode("a100-0", "A100", 8, map[string]string{"pool": "train"}),
			gpuNode("a100-1", "A100", 8, map[string]string{"pool": "train"}),
			gpuNode("l4-0", "L4", 2, map[string]string{"pool": "infer", "rack": "r1"}),
			gpuNode("l4-1", "L4", 2, map[string]string{"pool": "infer"}),
			node("cpu-0", 0, map[string]string{"pool": "cpu"}),
		},
		Namespaces:    []string{"a", "b", "c"},
		Pending:       pending,
		SchedulerName: "ml-scheduler",
	}
}

const (
	trainPool = "- {name: train, nodeSelector: {matchLabels: {pool: train}}"
	inferPool = "- {name: infer, nodeSelector: {matchLabels: {pool: infer}}"
)

func TestAgainstCluster(t *testing.T) {
	otherScheduler := pendingPod("a", "other", 4, nil)
	otherScheduler.Spec.SchedulerName = "default-scheduler"
	tests := []struct {
		name    string
		policy  string
		cluster *Cluster
		want    []want
	}{
		{name: "a clean policy", policy: `
pools:
` + trainPool + `, ownerNamespaces: [a]}
` + inferPool + `}
rules:
- {name: train, match: {namespaces: [a]}, pools: [train], gpuModels: [A100], preferred: [{weight: 5, nodeSelector: {matchLabels: {rack: r1}}}]}
- {name: infer, match: {}, pools: [infer], colocate: {jobLabel: job, topologyKey: rack}, gang: {topologyKey: rack}}
`, cluster: testCluster(pendingPod("a", "fits", 8, nil), pendingPod("b", "fits-too", 2, nil), pendingPod("b", "cpu", 0, nil), otherScheduler)},

		// Selectors choosing no node.
		{name: "pool selecting no node", policy: `
pools:
` + trainPool + `}
- {name: ghost, nodeSelector: {matchLabels: {pool: nope}}}
`, want: []want{w("pools[1].nodeSelector", `pool "ghost" selects none of the 5 nodes`)}},
		{name: "preferred selector, colocate and gang topology keys no node has", policy: `
rules:
- name: r
  match: {}
  preferred: [{weight: 5, nodeSelector: {matchLabels: {rack: r9}}}]
  colocate: {jobLabel: job, topologyKey: zone}
default: {gang: {topologyKey: block}}
`, want: []want{
			w("rules[0].preferred[0].nodeSelector", "selects none of the 5 nodes", `preference of rule "r" has no effect`),
			w("rules[0].colocate.topologyKey", "no node has label zone"),
			w("default.gang.topologyKey", "no node has label block"),
		}},
		{name: "pools and GPU models that share no node", policy: `
pools:
` + inferPool + `}
rules:
- {name: r, match: {}, pools: [infer], gpuModels: [A100]}
`, want: []want{w("rules[0]", "no node is both in pools [infer] and of GPU model [A100]")}},

		// Overlapping pools.
		{name: "owned pools with different owners sharing nodes", policy: `
pools:
` + trainPool + `, ownerNamespaces: [a]}
- {name: gpus, nodeSelector: {matchExpressions: [{key: pool, operator: In, values: [train, infer]}]}, ownerNamespaces: [a, b]}
`, want: []want{e("pools[1].ownerNamespaces", `pool "gpus" (owners [a, b]) and pools[0] "train" (owners [a]) share 2 nodes (a100-0, a100-1)`,
			`pods of [b] may use those nodes of pool "train"`)}},
		{name: "owned pool sharing nodes with a pool any namespace may use", policy: `
pools:
` + trainPool + `, ownerNamespaces: [a]}
- {name: all, nodeSelector: {}}
`, want: []want{w("pools[1].nodeSelector", `pool "all" (any namespace) shares 2 nodes (a100-0, a100-1) with pools[0] "train", owned by [a]`)}},
		{name: "no conflict: same owners, disjoint owned pools, shared pools", policy: `
pools:
` + trainPool + `, ownerNamespaces: [a, b]}
- {name: train2, nodeSelector: {matchLabels: {pool: train}}, ownerNamespaces: [b, a]}
` + inferPool + `, ownerNamespaces: [c]}
- {name: all, nodeSelector: {matchExpressions: [{key: pool, operator: In, values: [cpu]}]}}
- {name: all2, nodeSelector: {}}
`, want: []want{
			// all2 overlaps every owned pool; the shared-with-shared and
			// same-owner overlaps are not reported.
			w("pools[4].nodeSelector", `pools[0] "train"`),
			w("pools[4].nodeSelector", `pools[1] "train2"`),
			w("pools[4].nodeSelector", `pools[2] "infer"`),
		}},

		// GPU models.
		{name: "GPU models no node has", policy: `
rules:
- {name: r, match: {}, gpuModels: [A100, H100]}
default: {gpuModels: [B200]}
expectedShapes: [{gpus: 1, cpu: "1", memory: 1Gi, gpuModels: [L4, T4], weight: 1}]
`, want: []want{
			w("rules[0].gpuModels[1]", `no node has GPU model "H100"`, "label nvidia.com/gpu.product", "models present: A100, L4"),
			w("default.gpuModels[0]", `"B200"`),
			w("expectedShapes[0].gpuModels[1]", `"T4"`),
		}},

		// Namespaces.
		{name: "owner and rule namespaces that do not exist", policy: `
pools:
` + trainPool + `, ownerNamespaces: [a, ghost]}
` + inferPool + `, ownerNamespaces: [gone]}
rules:
- {name: r, match: {namespaces: [b, typo]}}
`, want: []want{
			w("pools[0].ownerNamespaces[1]", "ghost: namespace does not exist"),
			w("pools[1].ownerNamespaces[0]", "gone: namespace does not exist"),
			w("pools[1].ownerNamespaces", `none of pool "infer"'s owner namespaces exists`),
			w("rules[0].match.namespaces[1]", "typo: namespace does not exist"),
		}},
		{name: "namespaces of a snapshot are those of its pods", policy: `
pools:
` + trainPool + `, ownerNamespaces: [ghost]}
`, cluster: func() *Cluster {
			c := testCluster()
			c.Namespaces = []string{"a"}
			c.NamespacesFromPods = true
			return c
		}(),
			want: []want{
				w("pools[0].ownerNamespaces[0]", "ghost: no pod of the snapshot is in this namespace"),
				w("pools[0].ownerNamespaces", "none of pool"),
			}},

		// Pending pods asking more GPUs than the rule's nodes have.
		{name: "pending pod confined to nodes with too few GPUs", policy: `
pools:
` + inferPool + `}
rules:
- {name: infer, match: {namespaces: [b]}, pools: [infer]}
`, cluster: testCluster(pendingPod("b", "small", 2, nil), pendingPod("b", "big", 4, nil), pendingPod("b", "bigger", 8, nil),
			pendingPod("b", "huge", 16, nil), pendingPod("a", "elsewhere", 8, nil)),
			want: []want{
				e("rules[0].pools", "pending pod b/bigger asks 8 GPUs", `the nodes rule "infer" admits it to have at most 2 (pools [infer])`,
					"node a100-0 has 8 GPUs, but it is in none of the rule's pools", "in all 2 pending pods"),
				w("rules[0].pools", "pending pod b/huge asks 16 GPUs", "no node of the cluster has that many GPUs either"),
			}},
		{name: "GPU model confinement and ownership", policy: `
pools:
` + trainPool + `, ownerNamespaces: [a]}
rules:
- {name: l4, match: {podSelector: {matchLabels: {w: l4}}}, gpuModels: [L4]}
- {name: any, match: {namespaces: [b]}, gpuModels: [A100, L4]}
`, cluster: testCluster(pendingPod("c", "l4-pod", 4, map[string]string{"w": "l4"}), pendingPod("b", "not-owner", 4, nil)),
			want: []want{
				e("rules[0].gpuModels", "pending pod c/l4-pod asks 4 GPUs", "have at most 2 (GPU models [L4])", `its GPU model "A100" is not one the rule allows`),
				e("rules[1].gpuModels", "pending pod b/not-owner asks 4 GPUs", "have at most 2", "a100-0 has 8 GPUs, but it is in a pool owned by other namespaces"),
			}},
		{name: "a rule admitting no GPU node at all", policy: `
pools:
- {name: cpu, nodeSelector: {matchLabels: {pool: cpu}}}
default: {pools: [cpu]}
`, cluster: testCluster(pendingPod("c", "gpu-pod", 1, nil)),
			want: []want{e("default.pools", "pending pod c/gpu-pod asks 1 GPUs, but the default placement admits it to no GPU node (pools [cpu])")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cluster := tt.cluster
			if cluster == nil {
				cluster = testCluster()
			}
			c := compile(t, tt.policy)
			expectFindings(t, AgainstCluster(c, cluster), tt.want)
		})
	}
}

func TestCheck(t *testing.T) {
	// A rejected policy gets only the scheduler's errors, no semantic checks.
	r := Check([]byte(header+"pools: [{name: x, nodeSelector: {matchLabels: {pool: nope}}, ownerNamespaces: [BAD]}]\n"), testCluster())
	if r.Compiled != nil {
		t.Fatal("an invalid policy compiled")
	}
	expectFindings(t, r.Findings, []want{e("pools[0].ownerNamespaces[0]", "Invalid value")})

	// Static and cluster findings together; no cluster: static only.
	doc := []byte(header + "pools: [{name: x, nodeSelector: {matchLabels: {pool: nope}}}]\nrules: [{name: a, match: {}}, {name: b, match: {}}]\n")
	expectFindings(t, Check(doc, testCluster()).Findings, []want{w("rules[1].match", "shadowed"), w("pools[0].nodeSelector", "selects none")})
	r = Check(doc, nil)
	expectFindings(t, r.Findings, []want{w("rules[1].match", "shadowed")})
	rep := NewReport("p.yaml", "none", r)
	if !rep.Accepted || rep.Hash != r.Compiled.Hash() || rep.Errors != 0 || rep.Warnings != 1 {
		t.Errorf("report %+v", rep)
	}
}
