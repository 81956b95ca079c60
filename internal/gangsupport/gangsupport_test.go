package gangsupport

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/discovery"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/component-base/featuregate"
	"k8s.io/klog/v2/ktesting"
)

const (
	gw  = "GenericWorkload"
	tas = "TopologyAwareWorkloadScheduling"
	cpg = "CompositePodGroup"
)

func TestCheck(t *testing.T) {
	served := &metav1.APIResourceList{GroupVersion: "scheduling.k8s.io/v1beta1", APIResources: []metav1.APIResource{
		{Name: "podgroups", Namespaced: true, Kind: "PodGroup"}, {Name: "podgroups/status"}, {Name: "workloads"},
	}}
	workloadsOnly := &metav1.APIResourceList{GroupVersion: "scheduling.k8s.io/v1beta1", APIResources: []metav1.APIResource{{Name: "workloads"}}}
	core := &metav1.APIResourceList{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "pods"}}}
	refused := errors.New(`Get "https://10.0.0.1:443/apis/scheduling.k8s.io/v1beta1": dial tcp 10.0.0.1:443: connect: connection refused`)
	forbidden := apierrors.NewForbidden(schema.GroupResource{}, "", errors.New("nope"))

	tests := []struct {
		name       string
		gates      map[string]bool // set on a copy of the kube feature gate
		resources  []*metav1.APIResourceList
		failures   int   // discovery requests that fail with failErr first
		failErr    error //
		connectErr error // building the client fails

		want      Outcome
		disabled  []string
		on, off   []string // gates after Check
		calls     int      // discovery requests; -1: more than one
		logType   ktesting.LogType
		logSubstr string
	}{{
		name:      "gate off: nothing asked",
		gates:     map[string]bool{gw: false},
		resources: []*metav1.APIResourceList{served},
		want:      GateOff, off: []string{gw, tas},
		calls:   0,
		logType: ktesting.LogInfo, logSubstr: "Gang scheduling is off: feature gate GenericWorkload is off",
	}, {
		name:      "served: gang scheduling on",
		gates:     map[string]bool{gw: true, tas: true},
		resources: []*metav1.APIResourceList{core, served},
		want:      On, on: []string{gw, tas},
		calls:   1,
		logType: ktesting.LogInfo, logSubstr: "Gang scheduling is on",
	}, {
		name:      "group version not served: workload gates off",
		gates:     map[string]bool{gw: true, tas: true},
		resources: []*metav1.APIResourceList{core},
		want:      NotServed, disabled: []string{gw, tas}, off: []string{gw, tas},
		calls:   1,
		logType: ktesting.LogInfo, logSubstr: "Warning: PodGroup API scheduling.k8s.io/v1beta1 not served by the apiserver: gang scheduling is off; pods without a schedulingGroup are scheduled as usual",
	}, {
		name:      "group version without podgroups: not served",
		gates:     map[string]bool{gw: true},
		resources: []*metav1.APIResourceList{workloadsOnly},
		want:      NotServed, disabled: []string{gw}, off: []string{gw, tas},
		calls:   1,
		logType: ktesting.LogInfo, logSubstr: "not served by the apiserver",
	}, {
		name:      "gates that depend on GenericWorkload go off with it",
		gates:     map[string]bool{gw: true, tas: true, cpg: true},
		resources: []*metav1.APIResourceList{core},
		want:      NotServed, disabled: []string{cpg, gw, tas}, off: []string{gw, tas, cpg},
		calls:   1,
		logType: ktesting.LogInfo, logSubstr: "not served by the apiserver",
	}, {
		name:      "transient error, then served",
		gates:     map[string]bool{gw: true, tas: true},
		resources: []*metav1.APIResourceList{served},
		failures:  2, failErr: refused,
		want: On, on: []string{gw, tas},
		calls:   3,
		logType: ktesting.LogInfo, logSubstr: "Gang scheduling is on",
	}, {
		name:      "apiserver unreachable: gates stay on",
		gates:     map[string]bool{gw: true, tas: true},
		resources: []*metav1.APIResourceList{core},
		failures:  1 << 30, failErr: refused,
		want: Unknown, on: []string{gw, tas},
		calls:   -1,
		logType: ktesting.LogError, logSubstr: "Could not check whether the apiserver serves PodGroup API",
	}, {
		name:      "forbidden is not an answer: gates stay on",
		gates:     map[string]bool{gw: true},
		resources: []*metav1.APIResourceList{core},
		failures:  1 << 30, failErr: forbidden,
		want: Unknown, on: []string{gw},
		calls:   -1,
		logType: ktesting.LogError, logSubstr: "gang scheduling stays on as configured",
	}, {
		name:       "no connection config: gates stay on",
		gates:      map[string]bool{gw: true},
		connectErr: errors.New("unable to load in-cluster configuration"),
		want:       Unknown, on: []string{gw},
		calls:   0,
		logType: ktesting.LogError, logSubstr: "Could not check",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gate := utilfeature.DefaultFeatureGate.DeepCopy()
			if err := gate.SetFromMap(tc.gates); err != nil {
				t.Fatal(err)
			}
			fake := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: tc.resources}}
			requests := 0 // Actions() would deadlock inside a reactor
			fake.AddReactor("get", "resource", func(clienttesting.Action) (bool, runtime.Object, error) {
				requests++
				if requests <= tc.failures {
					return true, nil, tc.failErr
				}
				return false, nil, nil
			})
			connect := func() (discovery.DiscoveryInterface, error) { return fake, tc.connectErr }

			r := Check(context.Background(), gate, connect, Retry{Interval: time.Millisecond, Timeout: 100 * time.Millisecond})

			if r.Outcome != tc.want {
				t.Errorf("outcome %s, want %s (err %v)", r.Outcome, tc.want, r.Err)
			}
			if diff := cmp.Diff(tc.disabled, r.Disabled); diff != "" {
				t.Errorf("disabled gates (-want +got):\n%s", diff)
			}
			if (r.Outcome == Unknown) != (r.Err != nil) {
				t.Errorf("outcome %s with err %v", r.Outcome, r.Err)
			}
			for _, f := range tc.on {
				if !gate.Enabled(featuregate.Feature(f)) {
					t.Errorf("gate %s is off, want on", f)
				}
			}
			for _, f := range tc.off {
				if gate.Enabled(featuregate.Feature(f)) {
					t.Errorf("gate %s is on, want off", f)
				}
			}
			if errs := gate.Validate(); len(errs) > 0 {
				t.Errorf("gates inconsistent after Check: %v", errs)
			}
			calls := len(fake.Actions())
			if (tc.calls >= 0 && calls != tc.calls) || (tc.calls < 0 && calls < 2) {
				t.Errorf("%d discovery requests, want %d (-1: retried)", calls, tc.calls)
			}

			logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.BufferLogs(true)))
			r.Log(logger)
			entries := logger.GetSink().(ktesting.Underlier).GetBuffer().Data()
			if len(entries) != 1 {
				t.Fatalf("%d log entries, want exactly 1: %v", len(entries), entries)
			}
			e := entries[0]
			if e.Type != tc.logType || e.Verbosity != 0 || !strings.Contains(e.Message, tc.logSubstr) {
				t.Errorf("logged %s V(%d) %q, want %s V(0) containing %q", e.Type, e.Verbosity, e.Message, tc.logType, tc.logSubstr)
			}
			if r.Outcome == NotServed && !slices.Contains(e.ParameterKVList, any(APIServerFlags)) {
				t.Errorf("warning does not say how to enable the API: %v", e.ParameterKVList)
			}
		})
	}
}
