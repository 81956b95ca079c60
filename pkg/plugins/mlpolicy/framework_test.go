package mlpolicy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	schedulerapi "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultbinder"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/queuesort"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/kubernetes/pkg/scheduler/metrics"
	tf "k8s.io/kubernetes/pkg/scheduler/testing/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
)

// TestInFramework runs the plugin, built by New from a policy file, through
// a real framework's PreFilter and Filter: the framework intersects our
// PreFilterResult, honours Skip and surfaces our reasons.
func TestInFramework(t *testing.T) {
	metrics.Register() // the framework's instrumented plugins need the scheduler metrics
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(filterPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		pod          *v1.Pod
		wantCode     fwk.Code
		wantNodes    []string // PreFilterResult; nil: all nodes
		wantFeasible []string
	}{
		{name: "confined to the owned pool", pod: researchTraining,
			wantNodes: []string{"a100-1", "a100-2"}, wantFeasible: []string{"a100-1", "a100-2"}},
		{name: "ownership refuses part of the PreFilterResult", pod: teamBTraining,
			wantNodes: []string{"a100-1", "a100-2", "l4-1", "l4-2"}, wantFeasible: []string{"l4-1", "l4-2"}},
		{name: "CPU pod kept off GPU nodes by Filter", pod: defaultCPU,
			wantFeasible: []string{"cpu-1", "cpu-2", "cpu-3", "cpu-4", "cpu-5", "cpu-6"}},
		{name: "no node qualifies", pod: h100Pod, wantCode: fwk.UnschedulableAndUnresolvable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			nodes := filterNodes()
			var pl *MLPolicy
			factory := func(ctx context.Context, _ runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
				p, err := New(ctx, &config.MLPolicyArgs{PolicyFile: file}, h)
				if err == nil {
					pl = p.(*MLPolicy)
				}
				return p, err
			}
			fh, err := tf.NewFramework(ctx, []tf.RegisterPluginFunc{
				tf.RegisterQueueSortPlugin(queuesort.Name, queuesort.New),
				tf.RegisterBindPlugin(defaultbinder.Name, defaultbinder.New),
				tf.RegisterPluginAsExtensions(Name, factory, "PreFilter", "Filter", "PreScore", "Score", "PostFilter"),
			}, "ml-scheduler", frameworkruntime.WithSnapshotSharedLister(cache.NewSnapshot(nil, nodes)))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range nodes {
				pl.index.UpsertNode(n)
			}
			cs := framework.NewCycleState()
			res, s, _ := fh.RunPreFilterPlugins(ctx, cs, tt.pod)
			if s.Code() != tt.wantCode {
				t.Fatalf("RunPreFilterPlugins = %v, want code %v", s, tt.wantCode)
			}
			if !s.IsSuccess() {
				if s.Plugin() != Name {
					t.Errorf("failing plugin = %q, want %q", s.Plugin(), Name)
				}
				return
			}
			var gotNodes []string
			if !res.AllNodes() {
				gotNodes = sets.List(res.NodeNames)
			}
			if diff := cmp.Diff(tt.wantNodes, gotNodes); diff != "" {
				t.Errorf("PreFilterResult (-want +got):\n%s", diff)
			}
			var feasible []string
			for _, n := range nodes {
				if !res.AllNodes() && !res.NodeNames.Has(n.Name) {
					continue
				}
				ni := framework.NewNodeInfo()
				ni.SetNode(n)
				if fh.RunFilterPlugins(ctx, cs, tt.pod, ni).IsSuccess() {
					feasible = append(feasible, n.Name)
				}
			}
			if diff := cmp.Diff(tt.wantFeasible, feasible); diff != "" {
				t.Errorf("feasible nodes (-want +got):\n%s", diff)
			}
		})
	}
}

type fakeActivator struct {
	mu   sync.Mutex
	pods []string
}

func (f *fakeActivator) Activate(_ klog.Logger, pods map[string]*v1.Pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range pods {
		f.pods = append(f.pods, k)
	}
	slices.Sort(f.pods)
}

func (f *fakeActivator) activated() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pods)
}

// TestInformerFedIndex: nodes reach the index through the handle's informer
// (add, label update, delete), and a swap re-activates this profile's
// pending pods once scheduling has started.
func TestInformerFedIndex(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	objs := []runtime.Object{}
	for _, n := range filterNodes() {
		objs = append(objs, n)
	}
	pending := makePod("team-b", "pending", "1")
	pending.Spec.SchedulerName = "ml-scheduler"
	other := makePod("team-b", "other-scheduler", "1")
	other.Spec.SchedulerName = "default-scheduler"
	bound := makePod("team-b", "bound", "1")
	bound.Spec.SchedulerName, bound.Spec.NodeName = "ml-scheduler", "l4-1"
	objs = append(objs, pending, other, bound)
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	activator := &fakeActivator{}
	fh, err := frameworkruntime.NewFramework(ctx, nil, &schedulerapi.KubeSchedulerProfile{SchedulerName: "ml-scheduler"},
		frameworkruntime.WithInformerFactory(factory), frameworkruntime.WithClientSet(client),
		frameworkruntime.WithPodActivator(activator))
	if err != nil {
		t.Fatal(err)
	}
	store := storeWith(mustLoad(t, filterPolicy))
	pl, err := newWithStore(ctx, &config.MLPolicyArgs{}, fh, store)
	if err != nil {
		t.Fatal(err)
	}
	factory.Core().V1().Pods().Informer() // the scheduler always runs one
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	// Before the first cycle the queue does not exist: nothing to re-activate.
	store.Swap(mustLoad(t, filterPolicy), "test")
	if got := activator.activated(); len(got) != 0 {
		t.Errorf("pods activated before scheduling started: %v", got)
	}

	waitForNodes := func(want ...string) {
		t.Helper()
		var got []string
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			res, s := pl.PreFilter(ctx, framework.NewCycleState(), researchTraining, nil)
			got = nil
			if s.IsSuccess() && res != nil {
				got = sets.List(res.NodeNames)
			}
			return slices.Equal(got, want), nil
		})
		if err != nil {
			t.Fatalf("PreFilterResult = %v, want %v", got, want)
		}
	}
	waitForNodes("a100-1", "a100-2")

	node, err := client.CoreV1().Nodes().Get(ctx, "l4-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Labels["pool"] = "a100"
	if _, err := client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForNodes("a100-1", "a100-2", "l4-1")

	if err := client.CoreV1().Nodes().Delete(ctx, "a100-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForNodes("a100-2", "l4-1")

	store.Swap(mustLoad(t, filterPolicy+"reserveGPUNodes: false\n"), "test")
	if diff := cmp.Diff([]string{"team-b/pending"}, activator.activated()); diff != "" {
		t.Errorf("pods activated by a swap (-want +got):\n%s", diff)
	}
}
