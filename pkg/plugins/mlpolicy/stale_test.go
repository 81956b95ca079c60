package mlpolicy

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	tf "k8s.io/kubernetes/pkg/scheduler/testing/framework"
)

// relabelled returns a copy of n (a new object, as an informer delivers) with
// the extra labels.
func relabelled(n *v1.Node, kv ...string) *v1.Node {
	c := n.DeepCopy()
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Labels[kv[i]] = kv[i+1]
	}
	return c
}

// TestIndexBehindNodeRelabel: a node relabelled into the pod's pool reaches
// the scheduler's snapshot before the index (their event handlers run
// concurrently). The pod must be neither refused by PreFilter nor by Filter
// on the stale class; and the queueing hint brings the index up to date
// before it requeues the pod.
func TestIndexBehindNodeRelabel(t *testing.T) {
	logger, ctx := ktesting.NewTestContext(t)
	plain, other := makeNode("plain-0", "8"), makeNode("cpu-0", "", "pool", "cpu")
	pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, filterPolicy)), []*v1.Node{plain, other}, nil)
	pod := makePod("research", "train", "8", "workload", "training")

	// Before the relabel the rule admits no node: refused with the breakdown.
	_, s := pl.PreFilter(ctx, framework.NewCycleState(), pod, tf.BuildNodeInfos([]*v1.Node{plain, other}))
	if s.Code() != fwk.UnschedulableAndUnresolvable || !strings.Contains(s.Message(), "2 node(s) not in pool") {
		t.Fatalf("PreFilter before relabel = %v, want a refusal counting 2 nodes not in pool", s)
	}

	relabel := relabelled(plain, "pool", "a100", modelLabel, "NVIDIA-A100")
	infos := tf.BuildNodeInfos([]*v1.Node{relabel, other}) // the snapshot has it; the index does not
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, infos); !s.IsSuccess() {
		t.Fatalf("PreFilter with the index behind = %v, want success (Filter decides)", s)
	}
	if s := pl.Filter(ctx, cs, pod, infos[0]); !s.IsSuccess() {
		t.Fatalf("Filter on the relabelled node = %v, want success: the index's class is for another version of the node", s)
	}

	hint, err := pl.isSchedulableAfterNodeChange(logger, pod, plain, relabel)
	if err != nil || hint != fwk.Queue {
		t.Fatalf("hint = %v, %v; want Queue", hint, err)
	}
	v := pl.index.View()
	if nc := v.ClassOf(relabel); nc == nil || nc.Pools.Empty() {
		t.Fatalf("after the hint the index should hold the relabelled node in its pool, got %+v", nc)
	}
	res, s := pl.PreFilter(ctx, framework.NewCycleState(), pod, infos)
	if !s.IsSuccess() || res == nil || !res.NodeNames.Has("plain-0") {
		t.Fatalf("PreFilter after the hint = %v, %v; want plain-0 admitted", res, s)
	}
}
