package mlpolicy

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

func TestEventsToRegister(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newTestPlugin(t, ctx, storeWith(nil), nil, nil)
	events, err := pl.EventsToRegister(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []fwk.ClusterEvent{{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeLabel | fwk.UpdateNodeAllocatable}, {Resource: fwk.Pod, ActionType: fwk.Delete}, {Resource: fwk.ResourceSlice, ActionType: fwk.Add | fwk.Update}, {Resource: fwk.ResourceClaim, ActionType: fwk.Delete}}
	var got []fwk.ClusterEvent
	for _, e := range events {
		got = append(got, e.Event)
		if e.QueueingHintFn == nil {
			t.Errorf("event %v has no QueueingHintFn", e.Event)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EventsToRegister (-want +got):\n%s", diff)
	}
}

func TestIsSchedulableAfterOwnClaimDelete(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newTestPlugin(t, ctx, storeWith(nil), nil, nil)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "pod-uid"}}
	claim := func(ns string, owner types.UID) *resourceapi.ResourceClaim {
		c := &resourceapi.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p-extended-resources-x"}}
		if owner != "" {
			c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: owner}}
		}
		return c
	}
	for _, tc := range []struct {
		name string
		old  interface{}
		want fwk.QueueingHint
	}{
		{"the pod's own claim", claim("ns", "pod-uid"), fwk.Queue},
		{"its own claim, final state unknown", cache.DeletedFinalStateUnknown{Key: "ns/c", Obj: claim("ns", "pod-uid")}, fwk.Queue},
		{"another pod's claim", claim("ns", "other-uid"), fwk.QueueSkip},
		{"a claim nobody owns", claim("ns", ""), fwk.QueueSkip},
		{"another namespace", claim("other", "pod-uid"), fwk.QueueSkip},
		{"not a claim", &v1.Pod{}, fwk.QueueSkip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pl.isSchedulableAfterOwnClaimDelete(klog.FromContext(ctx), pod, tc.old, nil)
			if err != nil || got != tc.want {
				t.Errorf("hint %v (err %v), want %v", got, err, tc.want)
			}
		})
	}
}

func TestIsSchedulableAfterNodeChange(t *testing.T) {
	a100 := makeNode("n", "8", "pool", "a100", modelLabel, "NVIDIA-A100")
	l4 := makeNode("n", "4", "pool", "l4", modelLabel, "NVIDIA-L4")
	tests := []struct {
		name     string
		noPolicy bool
		pod      *v1.Pod
		oldObj   interface{}
		newObj   interface{}
		want     fwk.QueueingHint
	}{
		{name: "node gains the pool label", pod: researchTraining,
			oldObj: makeNode("n", "8", modelLabel, "NVIDIA-A100"), newObj: a100, want: fwk.Queue},
		{name: "node added in the pool", pod: researchTraining, newObj: a100, want: fwk.Queue},
		{name: "node added outside the pool", pod: researchTraining, newObj: l4, want: fwk.QueueSkip},
		{name: "node gains the GPU model under the configured label", pod: inferencePod,
			oldObj: makeNode("n", "4", "pool", "l4"), newObj: l4, want: fwk.Queue},
		{name: "node gains the GPU model under another label", pod: inferencePod,
			oldObj: makeNode("n", "4", "pool", "l4"), newObj: makeNode("n", "4", "pool", "l4", policy.DefaultGPUModelLabel, "NVIDIA-L4"),
			want: fwk.QueueSkip},
		{name: "node gains GPUs: becomes admitted for a GPU pod", pod: defaultGPU,
			oldObj: makeNode("n", "", "pool", "l4"), newObj: makeNode("n", "4", "pool", "l4"), want: fwk.Queue},
		{name: "node loses its GPUs: becomes admitted for a CPU pod", pod: defaultCPU,
			oldObj: makeNode("n", "4", "pool", "cpu"), newObj: makeNode("n", "", "pool", "cpu"), want: fwk.Queue},
		{name: "unrelated label on an admitted node", pod: researchTraining,
			oldObj: a100, newObj: makeNode("n", "8", "pool", "a100", modelLabel, "NVIDIA-A100", "unrelated", "x"), want: fwk.QueueSkip},
		{name: "unrelated label on a refused node", pod: researchTraining,
			oldObj: l4, newObj: makeNode("n", "4", "pool", "l4", modelLabel, "NVIDIA-L4", "unrelated", "x"), want: fwk.QueueSkip},
		{name: "node joins a pool owned by another namespace", pod: teamBTraining,
			oldObj: makeNode("n", "8"), newObj: a100, want: fwk.QueueSkip},
		{name: "node leaves the owned pool for one the rule lists", pod: teamBTraining,
			oldObj: a100, newObj: l4, want: fwk.Queue},
		{name: "no policy in force: a swap re-activates pods instead", noPolicy: true, pod: researchTraining,
			oldObj: makeNode("n", "8"), newObj: a100, want: fwk.QueueSkip},
		{name: "not a node", pod: researchTraining, newObj: &v1.Pod{}, want: fwk.Queue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, ctx := ktesting.NewTestContext(t)
			var p *policy.Compiled
			if !tt.noPolicy {
				p = mustLoad(t, filterPolicy)
			}
			pl := newTestPlugin(t, ctx, storeWith(p), nil, nil)
			got, err := pl.isSchedulableAfterNodeChange(logger, tt.pod, tt.oldObj, tt.newObj)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("hint = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSignPod(t *testing.T) {
	colocating := filterPolicy + `- name: jobs
  match: {podSelector: {matchLabels: {workload: job}}}
  colocate: {jobLabel: job, topologyKey: rack}
`
	tests := []struct {
		name      string
		a, b      *v1.Pod
		swapAfter bool // swap (the same policy) between signing a and b
		wantEqual bool
	}{
		{name: "same rule, namespace and GPU count", wantEqual: true,
			a: makePod("team-b", "a", "2", "workload", "training", "x", "1"),
			b: makePod("team-b", "b", "2", "workload", "training", "x", "2")},
		{name: "same rule, other GPU count",
			a: makePod("team-b", "a", "2", "workload", "training"), b: makePod("team-b", "b", "1", "workload", "training")},
		{name: "same rule, other namespace (pool ownership)",
			a: makePod("team-b", "a", "1", "workload", "training"), b: makePod("team-c", "b", "1", "workload", "training")},
		{name: "other rule",
			a: makePod("team-b", "a", "1", "workload", "training"), b: makePod("team-b", "b", "1", "workload", "inference")},
		{name: "new generation after a swap, even of the same policy", swapAfter: true,
			a: makePod("team-b", "a", "1", "workload", "training"), b: makePod("team-b", "b", "1", "workload", "training")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			store := storeWith(mustLoad(t, colocating))
			pl := newTestPlugin(t, ctx, store, nil, nil)
			sign := func(p *v1.Pod) []byte {
				frags, s := pl.SignPod(ctx, p)
				if !s.IsSuccess() {
					t.Fatalf("SignPod(%s): %v", p.Name, s)
				}
				if len(frags) != 1 || frags[0].Key != signKey {
					t.Fatalf("SignPod(%s) fragments = %+v, want one under %q", p.Name, frags, signKey)
				}
				// The framework JSON-encodes fragment values into the signature.
				b, err := json.Marshal(frags[0].Value)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			a := sign(tt.a)
			if tt.swapAfter {
				store.Swap(mustLoad(t, colocating), "test")
			}
			b := sign(tt.b)
			if got := string(a) == string(b); got != tt.wantEqual {
				t.Errorf("signatures %s and %s: equal = %v, want %v", a, b, got, tt.wantEqual)
			}
		})
	}

	t.Run("colocating rule is not batched", func(t *testing.T) {
		_, ctx := ktesting.NewTestContext(t)
		pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, colocating)), nil, nil)
		frags, s := pl.SignPod(ctx, makePod("team-b", "a", "1", "workload", "job", "job", "j1"))
		if s.Code() != fwk.Unschedulable || frags != nil {
			t.Errorf("SignPod = %v, %v; want nil, Unschedulable", frags, s)
		}
	})
	t.Run("no policy", func(t *testing.T) {
		_, ctx := ktesting.NewTestContext(t)
		pl := newTestPlugin(t, ctx, storeWith(nil), nil, nil)
		if _, s := pl.SignPod(ctx, makePod("team-b", "a", "1")); s.Code() != fwk.Unschedulable {
			t.Errorf("SignPod status = %v, want Unschedulable", s)
		}
	})
}

// TestPostBindNamesTheRule: with placementEvents on, a placed pod gets an
// Event naming its rule, the policy hash and generation; off (the default),
// none.
func TestPostBindNamesTheRule(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("placementEvents=%v", on), func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			recorder := events.NewFakeRecorder(10)
			fh, err := frameworkruntime.NewFramework(ctx, nil, nil, frameworkruntime.WithEventRecorder(recorder))
			if err != nil {
				t.Fatal(err)
			}
			p := mustLoad(t, filterPolicy)
			pl, err := newWithStore(ctx, &config.MLPolicyArgs{PlacementEvents: on}, fh, storeWith(p))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range filterNodes() {
				pl.index.UpsertNode(n)
			}
			cs := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, cs, researchTraining, nil); !s.IsSuccess() {
				t.Fatalf("PreFilter: %v", s)
			}
			pl.PostBind(ctx, cs, researchTraining, "a100-1")
			want := fmt.Sprintf("Normal %s Placed on a100-1 by rule research-training of placement policy %s (generation 1)", ReasonPlaced, p.Hash())
			select {
			case got := <-recorder.Events:
				if !on || got != want {
					t.Errorf("event = %q, want %q (events on: %v)", got, want, on)
				}
			default:
				if on {
					t.Error("no event recorded")
				}
			}
			// Without cycle state (PreFilter did not run) nothing is recorded.
			pl.PostBind(ctx, framework.NewCycleState(), researchTraining, "a100-1")
			if len(recorder.Events) != 0 {
				t.Errorf("unexpected event %q", <-recorder.Events)
			}
		})
	}
}
