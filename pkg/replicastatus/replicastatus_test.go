package replicastatus

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

func TestLeaseName(t *testing.T) {
	tests := []struct {
		identity, want, err string
	}{
		{"ml-scheduler-7d9f-abcde", "ml-scheduler-policy-ml-scheduler-7d9f-abcde", ""},
		{"Host_Name:1", "ml-scheduler-policy-host-name-1", ""},
		{"node.example.com", "ml-scheduler-policy-node.example.com", ""},
		{strings.Repeat("a", 250), "", "must be no more than 253 characters"},
	}
	for _, tc := range tests {
		got, err := LeaseName(tc.identity)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("LeaseName(%q) error %v, want %q", tc.identity, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("LeaseName(%q) = %q, %v; want %q", tc.identity, got, err, tc.want)
		}
	}
}

func TestFromLease(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	changed := now.Add(-time.Hour)
	tests := []struct {
		name    string
		renewed time.Time
		edit    func(*coordinationv1.Lease)
		stale   bool
		err     string
	}{
		{name: "fresh", renewed: now.Add(-10 * time.Second)},
		{name: "stale", renewed: now.Add(-LeaseDuration - time.Second), stale: true},
		{name: "bad generation", renewed: now, edit: func(l *coordinationv1.Lease) { l.Annotations[AnnotationGeneration] = "x" },
			err: "annotation ml-scheduler.io/policy-generation: \"x\" is not an integer"},
		{name: "bad time", renewed: now, edit: func(l *coordinationv1.Lease) { l.Annotations[AnnotationChanged] = "yesterday" },
			err: "is not an RFC 3339 time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := State{Identity: "r1", Hash: "abc", Generation: 3, Source: "configmap a/b", LastError: strings.Repeat("e", 2000), Changed: changed}
			l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "ml-scheduler-policy-r1"}}
			in.apply(l, tc.renewed)
			if tc.edit != nil {
				tc.edit(l)
			}
			got, err := FromLease(l, now)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Identity != "r1" || got.Hash != "abc" || got.Generation != 3 || got.Source != "configmap a/b" ||
				!got.Changed.Equal(changed) || got.Stale != tc.stale || len(got.LastError) > maxError+len("…") {
				t.Errorf("round trip: %+v", got)
			}
			if l.Labels[LabelPolicyStatus] != "true" {
				t.Errorf("label %v", l.Labels)
			}
		})
	}
}

func TestPublisher(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset()
	p, err := NewPublisher(client, "ml-scheduler", "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	go p.Run(ctx)
	compiled, err := policy.Load([]byte("apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\n"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		active          *policystore.Active
		lastErr         string
		hash, errSubstr string
		generation      int64
	}{
		{active: nil, hash: ""},
		{active: &policystore.Active{Policy: compiled, Generation: 1, Source: "configmap ml-scheduler/p"}, hash: compiled.Hash(), generation: 1},
		{active: &policystore.Active{Policy: compiled, Generation: 1, Source: "configmap ml-scheduler/p"}, lastErr: "rules[0]: bad", hash: compiled.Hash(), generation: 1, errSubstr: "rules[0]: bad"},
	}
	for i, st := range steps {
		p.Publish(st.active, st.lastErr)
		var got []State
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, err = Read(ctx, client, "ml-scheduler", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 1 && got[0].Hash == st.hash && got[0].LastError == st.errSubstr && got[0].Generation == st.generation {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("step %d: leases %+v, want hash %q generation %d error %q", i, got, st.hash, st.generation, st.errSubstr)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got[0].Identity != "replica-a" || got[0].Lease != "ml-scheduler-policy-replica-a" || got[0].Stale {
			t.Errorf("step %d: %+v", i, got[0])
		}
	}
}
