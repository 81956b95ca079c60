package policywatch

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2/ktesting"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

const (
	cmNamespace = "ml-scheduler"
	cmName      = "ml-scheduler-policy"
	cmKey       = "policy.yaml"
)

const goodPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- name: a100
  nodeSelector: {matchLabels: {pool: a100}}
rules:
- name: training
  match: {podSelector: {matchLabels: {workload: training}}}
  pools: [a100]
`

// goodPolicy2 differs from goodPolicy (another hash).
var goodPolicy2 = strings.Replace(goodPolicy, "pools: [a100]\n", "pools: [a100]\n  gpuPacking: BinPack\n", 1)

func hashOf(t *testing.T, doc string) string {
	t.Helper()
	p, err := policy.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p.Hash()
}

func configMap(data map[string]string) *v1.ConfigMap {
	return &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: cmNamespace, Name: cmName}, Data: data}
}

type env struct {
	t      *testing.T
	ctx    context.Context
	client *fake.Clientset
	store  *policystore.Store
}

// start runs a watcher over a fake client holding objs.
func start(t *testing.T, cm *v1.ConfigMap) *env {
	t.Helper()
	policystore.RegisterMetrics()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	client := fake.NewClientset()
	if cm != nil {
		client = fake.NewClientset(cm)
	}
	e := &env{t: t, ctx: ctx, client: client, store: policystore.New()}
	w := New(Options{Client: client, Namespace: cmNamespace, Name: cmName, Key: cmKey, Store: e.store, SyncTimeout: 10 * time.Second})
	if err := w.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return e
}

func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	if err := wait.PollUntilContextTimeout(e.ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		e.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// get returns the ConfigMap as stored (nil if absent).
func (e *env) get() *v1.ConfigMap {
	cm, err := e.client.CoreV1().ConfigMaps(cmNamespace).Get(e.ctx, cmName, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return cm
}

func (e *env) update(mutate func(cm *v1.ConfigMap)) {
	e.t.Helper()
	cm := e.get()
	mutate(cm)
	if _, err := e.client.CoreV1().ConfigMaps(cmNamespace).Update(e.ctx, cm, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("updating the ConfigMap: %v", err)
	}
}

// annotations waits until the status annotations read hash and an error
// containing errPart ("" : no error), and returns the error annotation.
func (e *env) waitStatus(hash, errPart string) string {
	e.t.Helper()
	var got map[string]string
	cond := func() bool {
		cm := e.get()
		if cm == nil {
			return false
		}
		got = cm.Annotations
		errText, ok := got[AnnotationLastError]
		if !ok || got[AnnotationActiveHash] != hash {
			return false
		}
		if errPart == "" {
			return errText == ""
		}
		return strings.Contains(errText, errPart)
	}
	if err := wait.PollUntilContextTimeout(e.ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		e.t.Fatalf("status annotations = %q, want hash %q and an error containing %q", got, hash, errPart)
	}
	return got[AnnotationLastError]
}

// waitEvent waits for an events.k8s.io/v1 Event on the ConfigMap with this
// reason whose note contains every part, and returns it.
func (e *env) waitEvent(eventType, reason string, parts ...string) eventsv1.Event {
	e.t.Helper()
	var found eventsv1.Event
	var seen []string
	e.waitFor("Event "+reason, func() bool {
		list, err := e.client.EventsV1().Events(cmNamespace).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		seen = seen[:0]
		for _, ev := range list.Items {
			seen = append(seen, ev.Reason+": "+ev.Note)
			if ev.Reason != reason || ev.Type != eventType || ev.Regarding.Kind != "ConfigMap" || ev.Regarding.Name != cmName {
				continue
			}
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(ev.Note, p)
			}
			if ok {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// reloads reads ml_scheduler_policy_reloads_total{result}.
func reloads(t *testing.T, result string) float64 {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "ml_scheduler_policy_reloads_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// applied starts a watcher on a valid ConfigMap and waits for its policy.
func applied(t *testing.T) (*env, *policystore.Active) {
	t.Helper()
	e := start(t, configMap(map[string]string{cmKey: goodPolicy}))
	e.waitFor("the first policy", func() bool { return e.store.Load() != nil })
	e.waitStatus(hashOf(t, goodPolicy), "")
	return e, e.store.Load()
}

func TestInitialPolicyApplied(t *testing.T) {
	e, a := applied(t)
	want := hashOf(t, goodPolicy)
	if a.Generation != 1 || a.Policy.Hash() != want || a.Source != "configmap "+cmNamespace+"/"+cmName {
		t.Errorf("active = generation %d, hash %s, source %q; want 1, %s, configmap %s/%s",
			a.Generation, a.Policy.Hash(), a.Source, want, cmNamespace, cmName)
	}
	e.waitEvent(v1.EventTypeNormal, ReasonApplied, want)
}

func TestRejectedUpdateKeepsPolicy(t *testing.T) {
	tests := []struct {
		name    string
		data    map[string]string
		wantErr []string // parts of the error annotation and of the Event's note
	}{
		{name: "unknown pool", data: map[string]string{cmKey: strings.Replace(goodPolicy, "pools: [a100]", "pools: [a10]", 1)},
			wantErr: []string{"rules[0].pools[0]", `"a10"`}},
		{name: "unknown field", data: map[string]string{cmKey: strings.Replace(goodPolicy, "pools: [a100]", "poolz: [a100]", 1)},
			wantErr: []string{"poolz"}},
		{name: "invalid gpuPacking", data: map[string]string{cmKey: goodPolicy + "default: {gpuPacking: Pack}\n"},
			wantErr: []string{"default.gpuPacking"}},
		{name: "wrong kind", data: map[string]string{cmKey: strings.Replace(goodPolicy, "kind: PlacementPolicy", "kind: Policy", 1)},
			wantErr: []string{"kind"}},
		{name: "empty document", data: map[string]string{cmKey: ""}, wantErr: []string{"empty"}},
		{name: "missing data key", data: map[string]string{"other.yaml": goodPolicy},
			wantErr: []string{`data key "policy.yaml" not found`}},
		{name: "no data at all", data: nil, wantErr: []string{`data key "policy.yaml" not found`, "policyConfigMapKey"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, before := applied(t)
			rejected := reloads(t, policystore.ResultRejected)
			e.update(func(cm *v1.ConfigMap) { cm.Data = tt.data })
			errText := e.waitStatus(before.Policy.Hash(), tt.wantErr[0])
			for _, p := range tt.wantErr {
				if !strings.Contains(errText, p) {
					t.Errorf("%s = %q, want it to contain %q", AnnotationLastError, errText, p)
				}
			}
			if a := e.store.Load(); a != before {
				t.Errorf("store after rejection = generation %d hash %s, want generation %d hash %s kept",
					a.Generation, a.Policy.Hash(), before.Generation, before.Policy.Hash())
			}
			e.waitEvent(v1.EventTypeWarning, ReasonRejected, append([]string{"stays in force"}, tt.wantErr...)...)
			if got := reloads(t, policystore.ResultRejected); got < rejected+1 {
				t.Errorf("policy_reloads_total{result=rejected} = %v, want at least %v", got, rejected+1)
			}

			// A valid policy clears the error and is applied.
			e.update(func(cm *v1.ConfigMap) { cm.Data = map[string]string{cmKey: goodPolicy2} })
			e.waitStatus(hashOf(t, goodPolicy2), "")
			if a := e.store.Load(); a.Generation != 2 || a.Policy.Hash() != hashOf(t, goodPolicy2) {
				t.Errorf("after the fix: generation %d hash %s, want 2 %s", a.Generation, a.Policy.Hash(), hashOf(t, goodPolicy2))
			}
		})
	}
}

func TestInvalidInitialPolicy(t *testing.T) {
	e := start(t, configMap(map[string]string{cmKey: strings.Replace(goodPolicy, "pools: [a100]", "pools: [a10]", 1)}))
	e.waitStatus("", "rules[0].pools[0]")
	if a := e.store.Load(); a != nil {
		t.Errorf("store holds generation %d after an invalid first policy, want none", a.Generation)
	}
	e.waitEvent(v1.EventTypeWarning, ReasonRejected, "no policy is in force")
}

func TestConfigMapCreatedLater(t *testing.T) {
	e := start(t, nil)
	if a := e.store.Load(); a != nil {
		t.Fatalf("policy %v in force without a ConfigMap", a)
	}
	if _, err := e.client.CoreV1().ConfigMaps(cmNamespace).Create(e.ctx, configMap(map[string]string{cmKey: goodPolicy}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(hashOf(t, goodPolicy), "")
	if a := e.store.Load(); a == nil || a.Generation != 1 {
		t.Errorf("after the ConfigMap was created: %+v, want generation 1", a)
	}
}

func TestConfigMapDeletedKeepsPolicy(t *testing.T) {
	e, before := applied(t)
	if err := e.client.CoreV1().ConfigMaps(cmNamespace).Delete(e.ctx, cmName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitEvent(v1.EventTypeWarning, ReasonDeleted, before.Policy.Hash(), "stays in force")
	if a := e.store.Load(); a != before {
		t.Errorf("store after deletion = %+v, want %+v kept", a, before)
	}

	// Recreated with the same policy: status written again, no new generation.
	if _, err := e.client.CoreV1().ConfigMaps(cmNamespace).Create(e.ctx, configMap(map[string]string{cmKey: goodPolicy}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(before.Policy.Hash(), "")
	if a := e.store.Load(); a != before {
		t.Errorf("store after re-creation with the same policy = generation %d, want %d kept", a.Generation, before.Generation)
	}
}

// TestStatusOnlyUpdateNotReprocessed: updates that leave the policy text
// alone (our own status annotations, an admin's label) are not processed
// again, whatever the outcome of the text was: no swap, no reload counted,
// no repeated log line.
func TestStatusOnlyUpdateNotReprocessed(t *testing.T) {
	tests := []struct {
		name string
		// data, if set, replaces the policy before the status-only update.
		data       map[string]string
		wantResult string // counted once for data
		wantErr    string
	}{
		{name: "policy in force"},
		{name: "policy rejected", data: map[string]string{cmKey: strings.Replace(goodPolicy, "pools: [a100]", "pools: [a10]", 1)},
			wantResult: policystore.ResultRejected, wantErr: "rules[0].pools[0]"},
		{name: "data key missing", data: map[string]string{"other.yaml": goodPolicy},
			wantResult: policystore.ResultRejected, wantErr: "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, before := applied(t)
			results := []string{policystore.ResultApplied, policystore.ResultUnchanged, policystore.ResultRejected}
			counts := map[string]float64{}
			for _, r := range results {
				counts[r] = reloads(t, r)
			}
			if tt.data != nil {
				e.update(func(cm *v1.ConfigMap) { cm.Data = tt.data })
				// Our own status patch comes back as a status-only update.
				e.waitStatus(before.Policy.Hash(), tt.wantErr)
				counts[tt.wantResult]++
			}
			e.update(func(cm *v1.ConfigMap) {
				cm.Annotations["team"] = "ml-platform"
				cm.Labels = map[string]string{"owner": "admins"}
			})
			// Updates are handled in order on one informer goroutine: once a
			// later policy change is in force, the updates before it were seen.
			e.update(func(cm *v1.ConfigMap) { cm.Data = map[string]string{cmKey: goodPolicy2} })
			e.waitStatus(hashOf(t, goodPolicy2), "")
			counts[policystore.ResultApplied]++
			if a := e.store.Load(); a.Generation != before.Generation+1 {
				t.Errorf("generation = %d, want %d: only the policy change swaps", a.Generation, before.Generation+1)
			}
			for _, r := range results {
				if got := reloads(t, r); got != counts[r] {
					t.Errorf("policy_reloads_total{result=%s} = %v, want %v", r, got, counts[r])
				}
			}
		})
	}
}

func TestStartReturnsWithPolicyInForce(t *testing.T) {
	e := start(t, configMap(map[string]string{cmKey: goodPolicy}))
	if a := e.store.Load(); a == nil {
		t.Fatal("Start returned before the ConfigMap's policy was processed")
	}
}
