package explain

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/events"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	internalcache "k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/kubernetes/pkg/scheduler/profile"

	mlconfig "github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
)

// cycleInput is one pod's scheduling cycle to re-run.
type cycleInput struct {
	cfg *schedconfig.KubeSchedulerConfiguration
	// profile is the index in cfg.Profiles of the profile serving the pod.
	profile int
	// mlArgs are the profile's MLPolicy args (nil: MLPolicy is off); the
	// policy text goes into the ConfigMap they name.
	mlArgs *mlconfig.MLPolicyArgs
	policy []byte
	// nodes and pods are the cluster: pods bound to a node are in the
	// snapshot, the others only in the API (as pending pods are).
	nodes []*v1.Node
	pods  []*v1.Pod
	// pod is the pod to schedule, unbound, not among pods.
	pod *v1.Pod
	// dra are the cluster's DRA objects (DeviceClasses, ResourceSlices,
	// ResourceClaims): the scheduler's DRA manager reads them as it would
	// the cluster's.
	dra []runtime.Object
}

// cycleResult is what the framework said of every node.
type cycleResult struct {
	nodeInfos []fwk.NodeInfo
	// preFilter is the rejection of RunPreFilterPlugins (nil: passed); the
	// nodes are then not filtered.
	preFilter *fwk.Status
	// prefilterNodes are the nodes of the PreFilterResult (nil: all).
	prefilterNodes map[string]bool
	// filter is each node's RunFilterPlugins status (nil: feasible).
	filter map[string]*fwk.Status
	// scores are RunScorePlugins' per-plugin weighted scores of the feasible nodes.
	scores []fwk.NodePluginScores
	// parts are MLPolicy's score parts per node name (empty: off).
	parts map[string]mlpolicy.ScoreParts
}

// runCycle builds the scheduler as the binary does (cmd/kube-scheduler/app
// Setup, with our plugin registry), on a fake clientset holding the
// cluster, and runs the pod's cycle through the serving profile's framework
// on a snapshot of that cluster: PreFilter, Filter on every node (not only a
// percentageOfNodesToScore sample, and also on the nodes PreFilter left out,
// to say why), PreScore and Score on the feasible ones. Nothing is bound.
func runCycle(ctx context.Context, in cycleInput) (*cycleResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client, err := fakeCluster(in)
	if err != nil {
		return nil, err
	}
	var bound []*v1.Pod
	for _, p := range in.pods {
		if p.Spec.NodeName != "" {
			bound = append(bound, p)
		}
	}
	snapshot := internalcache.NewSnapshot(bound, in.nodes)

	var ml *mlpolicy.MLPolicy
	registry := frameworkruntime.Registry{}
	if err := registry.Register(mlpolicy.Name, func(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		p, err := mlpolicy.New(ctx, obj, h)
		if err == nil {
			ml, _ = p.(*mlpolicy.MLPolicy)
		}
		return p, err
	}); err != nil {
		return nil, err
	}
	cfg := in.cfg
	informers := scheduler.NewInformerFactory(client, 0, nil)
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	// Cancel first: the informers' goroutines end with ctx, and Shutdown
	// waits for them.
	defer func() {
		cancel()
		informers.Shutdown()
		broadcaster.Shutdown()
	}()
	prof := cfg.Profiles[in.profile]
	sched, err := scheduler.New(ctx, client, informers, nil, profile.NewRecorderFactory(broadcaster),
		scheduler.WithComponentConfigVersion(cfg.TypeMeta.APIVersion),
		scheduler.WithProfiles(prof),
		scheduler.WithPercentageOfNodesToScore(cfg.PercentageOfNodesToScore),
		scheduler.WithFrameworkOutOfTreeRegistry(registry),
		scheduler.WithParallelism(cfg.Parallelism),
		scheduler.WithNodeInfoSnapshot(snapshot),
	)
	if err != nil {
		return nil, fmt.Errorf("building the scheduler of profile %q: %w", prof.SchedulerName, err)
	}
	informers.Start(ctx.Done())
	informers.WaitForCacheSync(ctx.Done())
	if err := sched.WaitForHandlersSync(ctx); err != nil {
		return nil, fmt.Errorf("scheduler handlers not synced: %w", err)
	}
	fw, ok := sched.Profiles[prof.SchedulerName]
	if !ok {
		return nil, fmt.Errorf("profile %q not built", prof.SchedulerName)
	}
	return cycleOn(ctx, fw, snapshot, ml, in.pod)
}

// cycleOn runs the cycle of pod through fw as schedule_one.go's
// schedulePod does, judging every node.
func cycleOn(ctx context.Context, fw framework.Framework, snapshot *internalcache.Snapshot, ml *mlpolicy.MLPolicy, pod *v1.Pod) (*cycleResult, error) {
	all, err := snapshot.NodeInfos().List()
	if err != nil {
		return nil, err
	}
	res := &cycleResult{nodeInfos: all, filter: map[string]*fwk.Status{}}
	state := framework.NewCycleState()
	pre, st, _ := fw.RunPreFilterPlugins(ctx, state, pod)
	if !st.IsSuccess() {
		if !st.IsRejected() {
			return nil, fmt.Errorf("PreFilter: %w", st.AsError())
		}
		res.preFilter = st
		return res, nil
	}
	if !pre.AllNodes() {
		res.prefilterNodes = map[string]bool{}
		for n := range pre.NodeNames {
			res.prefilterNodes[n] = true
		}
	}
	var feasible []fwk.NodeInfo
	for _, ni := range all {
		s := fw.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni)
		if !s.IsSuccess() && !s.IsRejected() {
			return nil, fmt.Errorf("filter on node %s: %w", ni.Node().Name, s.AsError())
		}
		name := ni.Node().Name
		if s.IsSuccess() && res.prefilterNodes != nil && !res.prefilterNodes[name] {
			s = fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "node left out by PreFilter")
		}
		if s.IsSuccess() {
			feasible = append(feasible, ni)
			continue
		}
		res.filter[name] = s
	}
	if len(feasible) == 0 {
		return res, nil
	}
	if !fw.HasScorePlugins() {
		for _, ni := range feasible {
			res.scores = append(res.scores, fwk.NodePluginScores{Name: ni.Node().Name})
		}
		return res, nil
	}
	if s := fw.RunPreScorePlugins(ctx, state, pod, feasible); !s.IsSuccess() {
		return nil, fmt.Errorf("PreScore: %w", s.AsError())
	}
	// MLPolicy's parts, from Score and NormalizeScore on a copy of the
	// cycle state (ExplainScore), then the framework's own scoring.
	if ml != nil {
		parts, err := ml.ExplainScore(ctx, state, pod, feasible)
		if err != nil {
			return nil, err
		}
		res.parts = map[string]mlpolicy.ScoreParts{}
		for _, p := range parts {
			res.parts[p.Node] = p
		}
	}
	scores, s := fw.RunScorePlugins(ctx, state, pod, feasible)
	if !s.IsSuccess() {
		return nil, fmt.Errorf("score: %w", s.AsError())
	}
	res.scores = scores
	return res, nil
}

// fakeCluster is the in-memory API the scheduler is built on: the nodes,
// the pods, the pod to explain (unbound) and the policy ConfigMap.
func fakeCluster(in cycleInput) (*fake.Clientset, error) {
	objs := make([]runtime.Object, 0, len(in.nodes)+len(in.pods)+2)
	for _, n := range in.nodes {
		objs = append(objs, n.DeepCopy())
	}
	for _, p := range in.pods {
		objs = append(objs, p.DeepCopy())
	}
	objs = append(objs, in.pod.DeepCopy())
	for _, o := range in.dra {
		objs = append(objs, o.DeepCopyObject())
	}
	if a := in.mlArgs; a != nil && a.PolicyConfigMapName != "" {
		if len(in.policy) == 0 {
			return nil, fmt.Errorf("no placement policy: ConfigMap %s/%s has no key %s (give --policy FILE)",
				a.PolicyConfigMapNamespace, a.PolicyConfigMapName, a.PolicyConfigMapKey)
		}
		objs = append(objs, &v1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: a.PolicyConfigMapNamespace, Name: a.PolicyConfigMapName},
			Data:       map[string]string{a.PolicyConfigMapKey: string(in.policy)},
		})
	}
	// NewSimpleClientset, as the simulator: no managed fields to compute.
	return fake.NewSimpleClientset(objs...), nil //nolint:staticcheck // see above
}
