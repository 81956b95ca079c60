package policyready

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

func mustPolicy(t *testing.T) *policy.Compiled {
	t.Helper()
	p, err := policy.Load([]byte("apiVersion: " + policy.APIVersion + "\nkind: " + policy.Kind + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// synced runs the factory's own wait, as kube-scheduler does before it
// reports ready, for at most d.
func synced(f informers.SharedInformerFactory, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for _, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return false
		}
	}
	return true
}

func TestGate(t *testing.T) {
	for _, tc := range []struct {
		name string
		// loaded: which of the two profiles' stores hold a policy before
		// the factory starts; then: which get one after.
		loaded, then [2]bool
		wantBefore   bool
	}{
		{"both profiles have a policy at start", [2]bool{true, true}, [2]bool{}, true},
		{"no policy yet, then both", [2]bool{}, [2]bool{true, true}, false},
		{"one profile still without a policy", [2]bool{true, false}, [2]bool{}, false},
		{"the second profile's policy comes later", [2]bool{true, false}, [2]bool{false, true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
			stores := [2]*policystore.Store{policystore.New(), policystore.New()}
			var g *Gate
			for i, s := range stores {
				if tc.loaded[i] {
					s.Swap(mustPolicy(t), "test")
				}
				if g2 := Register(f, s); g != nil && g2 != g {
					t.Fatal("a second Register made a second gate")
				} else {
					g = g2
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f.Start(ctx.Done())
			if got := synced(f, 200*time.Millisecond); got != tc.wantBefore || g.Ready() != tc.wantBefore {
				t.Fatalf("before: factory synced %v, gate ready %v; want %v", got, g.Ready(), tc.wantBefore)
			}
			want := true
			for i, s := range stores {
				if tc.then[i] {
					s.Swap(mustPolicy(t), "test")
				}
				want = want && (tc.loaded[i] || tc.then[i])
			}
			if got := synced(f, 2*time.Second); got != want {
				t.Errorf("after: factory synced %v, want %v", got, want)
			}
			// A second policy (a swap) changes nothing once open.
			stores[0].Swap(mustPolicy(t), "again")
			if g.Ready() != want {
				t.Errorf("after another swap: ready %v, want %v", g.Ready(), want)
			}
		})
	}
}

func TestGateStops(t *testing.T) {
	f := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	g := Register(f, policystore.New())
	ctx, cancel := context.WithCancel(context.Background())
	f.Start(ctx.Done())
	cancel()
	f.Shutdown() // waits for the gate's RunWithContext to return
	if !g.IsStopped() {
		t.Error("gate not stopped after the factory shut down")
	}
}
