package mlpolicy

import (
	"context"
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

const (
	benchNodes = 100
	benchPools = 10
)

var benchRuleCounts = []int{1, 10, 100}

// benchPolicy has 10 pools of 10 nodes and n rules; rule i matches
// namespace team-i and workload=training, confines to pool-(i%10), packs
// GPUs and prefers zone a. The benchmark pod matches the last rule, so
// matching walks every rule.
func benchPolicy(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\npools:\n")
	for p := 0; p < benchPools; p++ {
		fmt.Fprintf(&b, "- name: pool-%d\n  nodeSelector: {matchLabels: {pool: pool-%d}}\n", p, p)
	}
	b.WriteString("rules:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `- name: rule-%d
  match:
    namespaces: [team-%d]
    podSelector: {matchLabels: {workload: training}}
  pools: [pool-%d]
  gpuPacking: BinPack
  preferred:
  - {weight: 10, nodeSelector: {matchLabels: {zone: a}}}
`, i, i, i%benchPools)
	}
	return b.String()
}

func benchCluster() []*v1.Node {
	nodes := make([]*v1.Node, 0, benchNodes)
	for i := 0; i < benchNodes; i++ {
		zone := "b"
		if i%2 == 0 {
			zone = "a"
		}
		nodes = append(nodes, makeNode(fmt.Sprintf("node-%03d", i), "8", "pool", fmt.Sprintf("pool-%d", i%benchPools), "zone", zone))
	}
	return nodes
}

// benchSetup returns the plugin, the pod (matching the last of n rules), a
// node the rule admits and one it refuses.
func benchSetup(tb testing.TB, n int) (*MLPolicy, *v1.Pod, fwk.NodeInfo, fwk.NodeInfo) {
	tb.Helper()
	ctx := context.Background()
	nodes := benchCluster()
	pl := newTestPlugin(tb, ctx, storeWith(mustLoad(tb, benchPolicy(n))), nodes, nil)
	pod := makePod(fmt.Sprintf("team-%d", n-1), "p", "1", "workload", "training")
	admitted, _ := pl.handle.SnapshotSharedLister().NodeInfos().Get(fmt.Sprintf("node-%03d", (n-1)%benchPools))
	refused, _ := pl.handle.SnapshotSharedLister().NodeInfos().Get(fmt.Sprintf("node-%03d", n%benchPools))
	return pl, pod, admitted, refused
}

func BenchmarkPreFilter(b *testing.B) {
	for _, n := range benchRuleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			pl, pod, _, _ := benchSetup(b, n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, s := pl.PreFilter(ctx, framework.NewCycleState(), pod, nil); !s.IsSuccess() {
					b.Fatal(s)
				}
			}
		})
	}
}

func BenchmarkFilter(b *testing.B) {
	for _, n := range benchRuleCounts {
		pl, pod, admitted, refused := benchSetup(b, n)
		ctx := context.Background()
		cs := framework.NewCycleState()
		if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() {
			b.Fatal(s)
		}
		for _, c := range []struct {
			name   string
			node   fwk.NodeInfo
			wantOK bool
		}{{"admitted", admitted, true}, {"refused", refused, false}} {
			b.Run(fmt.Sprintf("rules=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if s := pl.Filter(ctx, cs, pod, c.node); s.IsSuccess() != c.wantOK {
						b.Fatal(s)
					}
				}
			})
		}
	}
}

func BenchmarkScore(b *testing.B) {
	for _, n := range benchRuleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			pl, pod, admitted, _ := benchSetup(b, n)
			ctx := context.Background()
			cs := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() {
				b.Fatal(s)
			}
			if s := pl.PreScore(ctx, cs, pod, nil); !s.IsSuccess() {
				b.Fatal(s)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, s := pl.Score(ctx, cs, pod, admitted); !s.IsSuccess() {
					b.Fatal(s)
				}
			}
		})
	}
}

// TestFilterAdmittedDoesNotAllocate holds the hot-path promise the
// benchmark measures: Filter allocates only to refuse.
func TestFilterAdmittedDoesNotAllocate(t *testing.T) {
	for _, n := range benchRuleCounts {
		pl, pod, admitted, _ := benchSetup(t, n)
		ctx := context.Background()
		cs := framework.NewCycleState()
		if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() {
			t.Fatal(s)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if s := pl.Filter(ctx, cs, pod, admitted); !s.IsSuccess() {
				t.Fatal(s)
			}
		})
		if allocs != 0 {
			t.Errorf("rules=%d: Filter on an admitted node allocates %v times per call, want 0", n, allocs)
		}
	}
}

// fragBenchSetup: the benchmark cluster under a MinFragmentation policy
// with cpuSpill, and a learned workload of about as many shapes as the
// Alibaba GPU trace has (112 distinct requests in its default sample).
func fragBenchSetup(tb testing.TB) (*MLPolicy, fwk.NodeInfo) {
	tb.Helper()
	ctx := context.Background()
	pl := newTestPlugin(tb, ctx, storeWith(mustLoad(tb, "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\ncpuSpill: {}\ndefault: {packing: MinFragmentation}\n")), benchCluster(), nil)
	gpus := []string{"1", "1", "1", "1", "2", "4", "8", ""}
	for i := 0; i < 112; i++ {
		p := sizedPod(fmt.Sprintf("seen-%d", i), fmt.Sprintf("%dm", 1000+(i*1500)%30000), fmt.Sprintf("%dGi", 4+(i*7)%120), gpus[i%len(gpus)])
		p.Spec.SchedulerName = pl.profileName
		pl.onPod(p)
	}
	node, _ := pl.handle.SnapshotSharedLister().NodeInfos().Get("node-000")
	return pl, node
}

func BenchmarkScoreMinFragmentation(b *testing.B) {
	pl, node := fragBenchSetup(b)
	for _, c := range []struct{ name, gpus string }{{"gpu-pod", "1"}, {"cpu-pod", ""}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			pod := sizedPod("p", "4", "16Gi", c.gpus)
			cs := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() && !s.IsSkip() {
				b.Fatal(s)
			}
			if s := pl.PreScore(ctx, cs, pod, nil); !s.IsSuccess() {
				b.Fatal(s)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, s := pl.Score(ctx, cs, pod, node); !s.IsSuccess() {
					b.Fatal(s)
				}
			}
		})
	}
}

// BenchmarkFilterSpill: a CPU pod judged on a GPU node's free resources.
func BenchmarkFilterSpill(b *testing.B) {
	pl, node := fragBenchSetup(b)
	ctx := context.Background()
	pod := sizedPod("p", "4", "16Gi", "")
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() && !s.IsSkip() {
		b.Fatal(s)
	}
	b.ReportAllocs()
	for b.Loop() {
		pl.Filter(ctx, cs, pod, node)
	}
}

// TestScoreMinFragmentationDoesNotAllocate: Score stays allocation-free
// with packing by fragmentation.
func TestScoreMinFragmentationDoesNotAllocate(t *testing.T) {
	pl, node := fragBenchSetup(t)
	ctx := context.Background()
	pod := sizedPod("p", "4", "16Gi", "1")
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() && !s.IsSkip() {
		t.Fatal(s)
	}
	if s := pl.PreScore(ctx, cs, pod, nil); !s.IsSuccess() {
		t.Fatal(s)
	}
	if a := testing.AllocsPerRun(100, func() { pl.Score(ctx, cs, pod, node) }); a != 0 {
		t.Errorf("Score allocates %v times per call, want 0", a)
	}
}
