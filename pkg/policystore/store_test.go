package policystore

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// compiled returns a distinct valid policy per n (its gpuModelLabel differs).
func compiled(t testing.TB, n int) *policy.Compiled {
	t.Helper()
	p, err := policy.Load([]byte(fmt.Sprintf("apiVersion: %s\nkind: %s\ngpuModelLabel: example.com/model-%d\n", policy.APIVersion, policy.Kind, n)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSwap(t *testing.T) {
	s := New()
	if a := s.Load(); a != nil {
		t.Fatalf("Load() on a new store = %+v, want nil", a)
	}
	for gen := int64(1); gen <= 3; gen++ {
		p := compiled(t, int(gen))
		a := s.Swap(p, fmt.Sprintf("source-%d", gen))
		want := &Active{Policy: p, Generation: gen, Source: fmt.Sprintf("source-%d", gen)}
		if *a != *want {
			t.Errorf("Swap #%d = %+v, want %+v", gen, a, want)
		}
		if got := s.Load(); got != a {
			t.Errorf("Load() after swap #%d = %+v, want the swapped-in %+v", gen, got, a)
		}
	}
	// Swapping the same policy again is still a new generation.
	again := s.Load().Policy
	if a := s.Swap(again, "again"); a.Generation != 4 || a.Policy != again {
		t.Errorf("re-swap = %+v, want generation 4 of the same policy", a)
	}
}

func TestSubscribe(t *testing.T) {
	type call struct {
		sub int
		gen int64
	}
	tests := []struct {
		name string
		// swapsBefore happen before the subscribers subscribe.
		swapsBefore, swapsAfter int
		want                    []call
	}{
		{name: "empty store: nothing until a swap", swapsAfter: 2,
			want: []call{{0, 1}, {1, 1}, {2, 1}, {0, 2}, {1, 2}, {2, 2}}},
		{name: "active store: each subscriber fires at once with the policy in force", swapsBefore: 2, swapsAfter: 1,
			want: []call{{0, 2}, {1, 2}, {2, 2}, {0, 3}, {1, 3}, {2, 3}}},
		{name: "no swap after subscribing", swapsBefore: 1,
			want: []call{{0, 1}, {1, 1}, {2, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			for i := 0; i < tt.swapsBefore; i++ {
				s.Swap(compiled(t, i), "test")
			}
			var got []call
			for sub := 0; sub < 3; sub++ {
				s.Subscribe(func(a *Active) {
					if s.Load() != a {
						t.Errorf("subscriber %d called with %+v while Load() returns %+v", sub, a, s.Load())
					}
					got = append(got, call{sub, a.Generation})
				})
			}
			for i := 0; i < tt.swapsAfter; i++ {
				s.Swap(compiled(t, 100+i), "test")
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(call{})); diff != "" {
				t.Errorf("subscriber calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConcurrentSwaps: generations are strictly increasing as subscribers
// see them, whatever goroutines swap; run with -race.
func TestConcurrentSwaps(t *testing.T) {
	s := New()
	policies := []*policy.Compiled{compiled(t, 1), compiled(t, 2)}
	var seen []int64
	s.Subscribe(func(a *Active) { seen = append(seen, a.Generation) }) // under the swap lock
	const swappers, swaps = 4, 50
	var wg sync.WaitGroup
	for w := 0; w < swappers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < swaps; i++ {
				s.Swap(policies[i%2], "test")
				if a := s.Load(); a == nil || a.Policy == nil {
					t.Error("Load() during swaps returned an incomplete policy")
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != swappers*swaps {
		t.Fatalf("subscriber saw %d swaps, want %d", len(seen), swappers*swaps)
	}
	for i, g := range seen {
		if g != int64(i+1) {
			t.Fatalf("swap #%d had generation %d: generations must be 1, 2, 3, …", i+1, g)
		}
	}
}

func TestSwapMetrics(t *testing.T) {
	RegisterMetrics()
	RegisterMetrics() // idempotent
	s := New()
	s.Swap(compiled(t, 1), "test")
	p := compiled(t, 2)
	a := s.Swap(p, "test")
	want := fmt.Sprintf(`
# HELP ml_scheduler_policy_generation [ALPHA] Generation of the placement policy in force (swaps since start; 0: none loaded).
# TYPE ml_scheduler_policy_generation gauge
ml_scheduler_policy_generation %d
# HELP ml_scheduler_policy_info [ALPHA] 1 for the hash of the placement policy in force.
# TYPE ml_scheduler_policy_info gauge
ml_scheduler_policy_info{hash=%q} 1
`, a.Generation, p.Hash())
	if err := testutil.GatherAndCompare(legacyregistry.DefaultGatherer, strings.NewReader(want),
		"ml_scheduler_policy_generation", "ml_scheduler_policy_info"); err != nil {
		t.Error(err)
	}

	before, _ := testutil.GetCounterMetricValue(policyReloads.WithLabelValues(ResultRejected))
	RecordReload(ResultRejected)
	after, _ := testutil.GetCounterMetricValue(policyReloads.WithLabelValues(ResultRejected))
	if after != before+1 {
		t.Errorf("policy_reloads_total{result=rejected} went from %v to %v, want +1", before, after)
	}
	for _, c := range []struct {
		result string
		ok     float64
	}{{ResultRejected, 0}, {ResultApplied, 1}, {ResultDeleted, 0}, {ResultUnchanged, 1}} {
		RecordReload(c.result)
		if got, _ := testutil.GetGaugeMetricValue(policyLastReloadOK); got != c.ok {
			t.Errorf("policy_last_reload_success after %s = %v, want %v", c.result, got, c.ok)
		}
	}
}
