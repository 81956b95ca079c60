package mlpolicy

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

const (
	gpuRes = v1.ResourceName("nvidia.com/gpu")
	// modelLabel is the gpuModelLabel the test policies configure, so tests
	// prove the label is read from the policy and not the default.
	modelLabel = "example.com/gpu-model"
)

// mustLoad decodes, defaults, validates and compiles a policy document.
func mustLoad(tb testing.TB, doc string) *policy.Compiled {
	tb.Helper()
	p, err := policy.Load([]byte(doc))
	if err != nil {
		tb.Fatalf("loading test policy: %v", err)
	}
	return p
}

// newTestPlugin builds the plugin over store with a framework handle whose
// snapshot holds nodes and pods, and feeds the nodes to the plugin's index
// and the pods to its job index (the handle has no informer to do so).
// args has neither a ConfigMap nor a file: the test owns the store.
func newTestPlugin(tb testing.TB, ctx context.Context, store *policystore.Store, nodes []*v1.Node, pods []*v1.Pod) *MLPolicy {
	tb.Helper()
	fh, err := frameworkruntime.NewFramework(ctx, nil, nil,
		frameworkruntime.WithSnapshotSharedLister(cache.NewSnapshot(pods, nodes)))
	if err != nil {
		tb.Fatalf("creating framework handle: %v", err)
	}
	pl, err := newWithStore(ctx, &config.MLPolicyArgs{}, fh, store)
	if err != nil {
		tb.Fatalf("creating plugin: %v", err)
	}
	for _, n := range nodes {
		pl.index.UpsertNode(n)
	}
	for _, p := range pods {
		if err := pl.jobs.store.Add(p); err != nil {
			tb.Fatalf("adding pod %s to the job index: %v", p.Name, err)
		}
	}
	return pl
}

// storeWith returns a store with p swapped in (nil: an empty store).
func storeWith(p *policy.Compiled) *policystore.Store {
	s := policystore.New()
	if p != nil {
		s.Swap(p, "test")
	}
	return s
}

// makeNode returns a node with labels (key, value pairs) and gpus GPUs allocatable.
func makeNode(name string, gpus string, kv ...string) *v1.Node {
	w := st.MakeNode().Name(name)
	for i := 0; i+1 < len(kv); i += 2 {
		w = w.Label(kv[i], kv[i+1])
	}
	res := map[v1.ResourceName]string{v1.ResourceCPU: "32", v1.ResourceMemory: "128Gi"}
	if gpus != "" && gpus != "0" {
		res[gpuRes] = gpus
	}
	return w.Capacity(res).Obj()
}

// makePod returns a pod in ns requesting gpus GPUs ("" or "0": none) with labels.
func makePod(ns, name, gpus string, kv ...string) *v1.Pod {
	w := st.MakePod().Namespace(ns).Name(name).UID(ns + "/" + name)
	for i := 0; i+1 < len(kv); i += 2 {
		w = w.Label(kv[i], kv[i+1])
	}
	req := map[v1.ResourceName]string{v1.ResourceCPU: "1"}
	if gpus != "" && gpus != "0" {
		req[gpuRes] = gpus
	}
	return w.Req(req).Obj()
}
