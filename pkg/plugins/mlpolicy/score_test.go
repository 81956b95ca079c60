package mlpolicy

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

const scorePolicy = `
apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
reserveGPUNodes: false
rules:
- name: pack
  match: {podSelector: {matchLabels: {mode: pack}}}
  gpuPacking: BinPack
- name: spread
  match: {podSelector: {matchLabels: {mode: spread}}}
  gpuPacking: Spread
- name: prefer
  match: {podSelector: {matchLabels: {mode: prefer}}}
  preferred:
  - {weight: 30, nodeSelector: {matchLabels: {zone: a}}}
  - {weight: 10, nodeSelector: {matchLabels: {disk: ssd}}}
- name: colocate
  match: {podSelector: {matchLabels: {mode: colocate}}}
  colocate: {jobLabel: job, topologyKey: rack}
- name: all
  match: {podSelector: {matchLabels: {mode: all}}}
  gpuPacking: BinPack
  preferred:
  - {weight: 50, nodeSelector: {matchLabels: {zone: a}}}
  colocate: {jobLabel: job, topologyKey: rack}
`

// scoreCluster: six 8-GPU nodes. GPUs in use: n1 6, n2 2, others 0. Pods of
// job j1 in namespace ml: 2 in rack r1 (n1, n2), 1 in rack r2 (n4), 1 on
// n6 which has no rack; a j1 pod of another namespace sits on n3 (rack r2).
func scoreCluster() ([]*v1.Node, []*v1.Pod) {
	nodes := []*v1.Node{
		makeNode("n1", "8", "zone", "a", "rack", "r1"),
		makeNode("n2", "8", "zone", "b", "disk", "ssd", "rack", "r1"),
		makeNode("n3", "8", "zone", "a", "disk", "ssd", "rack", "r2"),
		makeNode("n4", "8", "zone", "b", "rack", "r2"),
		makeNode("n5", "8", "rack", "r3"),
		makeNode("n6", "8"),
	}
	on := func(p *v1.Pod, node string) *v1.Pod { p.Spec.NodeName = node; return p }
	pods := []*v1.Pod{
		on(makePod("ml", "j1-a", "4", "job", "j1"), "n1"),
		on(makePod("ml", "j2-a", "2", "job", "j2"), "n1"),
		on(makePod("ml", "j1-b", "2", "job", "j1"), "n2"),
		on(makePod("other", "j1-x", "", "job", "j1"), "n3"),
		on(makePod("ml", "j1-c", "", "job", "j1"), "n4"),
		on(makePod("ml", "j1-d", "", "job", "j1"), "n6"),
	}
	return nodes, pods
}

func TestScore(t *testing.T) {
	tests := []struct {
		name string
		pod  *v1.Pod
		// want is the normalized score of n1..n6; nil: PreScore skips.
		want []int64
	}{
		// BinPack: (5 GPU + 1 CPU + 1 memory)/7 of the node's allocation
		// after placing the pod (nodes: 32 CPUs, 128Gi; every pod asks 1 CPU).
		// n1: 5*7/8 + 3/32 -> 63; n2: 5*3/8 + 2/32 -> 27; the empty nodes 5/8 + ~2/32 -> 9.
		{name: "BinPack prefers the node with more GPUs requested",
			pod: makePod("ml", "p", "1", "mode", "pack"), want: []int64{63, 27, 9, 9, 9, 9}},
		// n1: GPUs capped at 8/8: 5 + 3/32 -> 72; n2 5*6/8 + 2/32 -> 54; others 5*4/8 -> 36.
		{name: "BinPack is capped at a full node",
			pod: makePod("ml", "p", "4", "mode", "pack"), want: []int64{72, 54, 36, 36, 36, 36}},
		{name: "Spread prefers the emptiest node",
			pod: makePod("ml", "p", "1", "mode", "spread"), want: []int64{37, 73, 91, 91, 91, 91}},
		// A CPU pod is packed on CPU and memory: (CPU after)/32 over 2 parts.
		// n1 3/32 -> 4; n5 (no pod yet) 1/32 -> 1; the others 2/32 -> 3.
		{name: "BinPack packs a pod without GPUs on CPU and memory",
			pod: makePod("ml", "p", "", "mode", "pack"), want: []int64{4, 3, 3, 3, 1, 3}},
		// zone a: 30 of 40, ssd: 10 of 40.
		{name: "preferred weights", pod: makePod("ml", "p", "", "mode", "prefer"), want: []int64{75, 25, 100, 0, 0, 0}},
		// r1 has 2 of the job's pods (the most), r2 1 (the other namespace's pod
		// does not count), r3 none; n6 has no rack.
		{name: "colocation by topology key, same namespace and job",
			pod: makePod("ml", "p", "", "mode", "colocate", "job", "j1"), want: []int64{100, 100, 50, 50, 0, 0}},
		// A job's first pod: colocation is left out, and with no other part
		// Score is skipped rather than scoring every node 0.
		{name: "colocation of a job with no placed pod is skipped",
			pod: makePod("ml", "p", "", "mode", "colocate", "job", "new")},
		{name: "colocation skipped for a pod without the job label", pod: makePod("ml", "p", "", "mode", "colocate")},
		// (pack + prefer + colocate) / 3: n1 (63+100+100)/3, n2 (27+0+100)/3,
		// n3 (9+100+50)/3, n4 (9+0+50)/3, n5 and n6 9/3.
		{name: "three parts are averaged back into [0, 100]",
			pod: makePod("ml", "p", "1", "mode", "all", "job", "j1"), want: []int64{87, 42, 53, 19, 3, 3}},
		{name: "default rule scores nothing", pod: makePod("ml", "p", "1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			nodes, pods := scoreCluster()
			pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, scorePolicy)), nodes, pods)
			cs := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, cs, tt.pod, nil); !s.IsSuccess() && !s.IsSkip() {
				t.Fatalf("PreFilter: %v", s)
			}
			infos, err := pl.handle.SnapshotSharedLister().NodeInfos().List()
			if err != nil {
				t.Fatal(err)
			}
			s := pl.PreScore(ctx, cs, tt.pod, infos)
			if tt.want == nil {
				if !s.IsSkip() {
					t.Errorf("PreScore = %v, want Skip", s)
				}
				return
			}
			if !s.IsSuccess() {
				t.Fatalf("PreScore: %v", s)
			}
			scores := make(fwk.NodeScoreList, len(nodes))
			for i, n := range nodes {
				ni, err := pl.handle.SnapshotSharedLister().NodeInfos().Get(n.Name)
				if err != nil {
					t.Fatal(err)
				}
				score, s := pl.Score(ctx, cs, tt.pod, ni)
				if !s.IsSuccess() {
					t.Fatalf("Score(%s): %v", n.Name, s)
				}
				scores[i] = fwk.NodeScore{Name: n.Name, Score: score}
			}
			if s := pl.ScoreExtensions().NormalizeScore(ctx, cs, tt.pod, scores); !s.IsSuccess() {
				t.Fatalf("NormalizeScore: %v", s)
			}
			got := make([]int64, len(scores))
			for i, ns := range scores {
				got[i] = ns.Score
				if ns.Score < fwk.MinScore || ns.Score > fwk.MaxScore {
					t.Errorf("normalized score of %s = %d, outside [%d, %d]", ns.Name, ns.Score, fwk.MinScore, fwk.MaxScore)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("normalized scores n1..n6 (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPreScoreWithoutPreFilter: with no cycle state (no policy when
// PreFilter ran) there is nothing to score.
func TestPreScoreWithoutPreFilter(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newTestPlugin(t, ctx, storeWith(nil), nil, nil)
	if s := pl.PreScore(ctx, framework.NewCycleState(), makePod("ml", "p", "1"), nil); !s.IsSkip() {
		t.Errorf("PreScore = %v, want Skip", s)
	}
}

// TestColocateMatchesSnapshotWalk: the job index gives the domain counts,
// and so the scores, that the walk over every pod in the snapshot gave, on
// clusters where most pods belong to other jobs or namespaces, some sit on
// nodes without the topology label, some are only assumed (Reserve) and
// some are bound to a node the snapshot does not have (counted nowhere).
func TestColocateMatchesSnapshotWalk(t *testing.T) {
	tests := []struct {
		name                string
		nodes, racks, pods  int
		jobs                int
		assumedEvery, goneN int
	}{
		{name: "few jobs", nodes: 12, racks: 3, pods: 200, jobs: 3},
		{name: "many jobs, some pods assumed", nodes: 40, racks: 7, pods: 2000, jobs: 50, assumedEvery: 5},
		{name: "pods on nodes the snapshot lacks", nodes: 20, racks: 4, pods: 500, jobs: 10, assumedEvery: 7, goneN: 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			nodes := make([]*v1.Node, tt.nodes)
			for i := range nodes {
				kv := []string{"rack", fmt.Sprintf("r%d", i%tt.racks)}
				if i%5 == 4 {
					kv = nil
				}
				nodes[i] = makeNode(fmt.Sprintf("n%02d", i), "8", kv...)
			}
			rng := rand.New(rand.NewPCG(uint64(tt.pods), uint64(tt.jobs)))
			var pods, assumed []*v1.Pod
			for i := 0; i < tt.pods; i++ {
				ns := "ml"
				if rng.IntN(4) == 0 {
					ns = "other"
				}
				kv := []string{"job", fmt.Sprintf("j%d", rng.IntN(tt.jobs))}
				if rng.IntN(10) == 0 {
					kv = []string{"team", kv[1]}
				}
				p := makePod(ns, fmt.Sprintf("p-%d", i), "", kv...)
				p.Spec.NodeName = nodes[rng.IntN(len(nodes))].Name
				pods = append(pods, p)
				if tt.assumedEvery > 0 && i%tt.assumedEvery == 0 {
					assumed = append(assumed, p)
				}
			}
			pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, scorePolicy)), nodes, pods)
			for _, p := range assumed { // in the snapshot, but only reserved: pending in the store
				pending := p.DeepCopy()
				pending.Spec.NodeName = ""
				if err := pl.jobs.store.Update(pending); err != nil {
					t.Fatal(err)
				}
				if s := pl.Reserve(ctx, framework.NewCycleState(), p, p.Spec.NodeName); !s.IsSuccess() {
					t.Fatal(s)
				}
			}
			for i := 0; i < tt.goneN; i++ {
				p := makePod("ml", fmt.Sprintf("gone-%d", i), "", "job", fmt.Sprintf("j%d", i%tt.jobs))
				p.Spec.NodeName = "gone"
				if err := pl.jobs.store.Add(p); err != nil {
					t.Fatal(err)
				}
			}
			c := &policy.Colocation{JobLabel: "job", TopologyKey: "rack"}
			for j := 0; j <= tt.jobs; j++ { // j == jobs: a job with no pod
				job := fmt.Sprintf("j%d", j)
				want := &scoreState{}
				if err := countJobByWalk(pl, "ml", c, job, want); err != nil {
					t.Fatal(err)
				}
				pod := makePod("ml", "p", "", "mode", "colocate", "job", job)
				cs := framework.NewCycleState()
				if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() && !s.IsSkip() {
					t.Fatalf("PreFilter: %v", s)
				}
				s := pl.PreScore(ctx, cs, pod, nil)
				if want.maxCount == 0 {
					if !s.IsSkip() {
						t.Errorf("%s: PreScore = %v, want Skip (no pod of the job placed)", job, s)
					}
					continue
				}
				if !s.IsSuccess() {
					t.Fatalf("%s: PreScore: %v", job, s)
				}
				st, err := readState(cs)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want.domainCount, st.score.domainCount); diff != "" || st.score.maxCount != want.maxCount {
					t.Errorf("%s: pods per rack (-walk +index):\n%s max %d, want %d", job, diff, st.score.maxCount, want.maxCount)
				}
				for _, n := range nodes {
					ni, err := pl.handle.SnapshotSharedLister().NodeInfos().Get(n.Name)
					if err != nil {
						t.Fatal(err)
					}
					got, s := pl.Score(ctx, cs, pod, ni)
					if !s.IsSuccess() {
						t.Fatal(s)
					}
					var wantScore int64
					if d, ok := n.Labels["rack"]; ok {
						wantScore = want.domainCount[d] * fwk.MaxScore / want.maxCount
					}
					if got != wantScore {
						t.Errorf("%s: Score(%s) = %d, want %d", job, n.Name, got, wantScore)
					}
				}
			}
		})
	}
}
