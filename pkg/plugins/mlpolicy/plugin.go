// Package mlpolicy is the MLPolicy scheduler plugin: it places pods by the
// admin's placement policy (pkg/policy), read from a watched ConfigMap.
package mlpolicy

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
	configv1 "github.com/ml-scheduler/ml-scheduler/pkg/apis/config/v1"
	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config/validation"
	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/nodeindex"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policyready"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
	"github.com/ml-scheduler/ml-scheduler/pkg/policywatch"
)

// Name is the plugin's name in the registry and in KubeSchedulerConfiguration.
const Name = "MLPolicy"

// MLPolicy implements PreFilter, Filter, PostFilter, PreScore, Score,
// Reserve, Bind, PostBind, EnqueueExtensions and SignPlugin.
type MLPolicy struct {
	handle fwk.Handle
	store  *policystore.Store
	index  *nodeindex.Index
	// gpus holds the GPU devices nodes publish through DRA (dra.go).
	gpus *gpudra.Inventory
	// deviceClaims counts the ResourceClaims other than the scheduler's
	// extended-resource claims (drause.go).
	deviceClaims atomic.Int64
	// claimsWatched: deviceClaims follows the claim informer (set in New).
	claimsWatched bool
	// logger is the plugin's, for informer handlers.
	logger klog.Logger
	// learner learns the expected pod shapes MinFragmentation and cpuSpill plan for.
	learner *fragmentation.Learner
	// jobs finds a job's placed pods for colocation (jobindex.go).
	jobs *jobIndex
	// messages holds the reason strings of the policy in force, built once per swap.
	messages atomic.Pointer[messages]
	// running is set by the first scheduling cycle: from then on the
	// framework's queue exists and pods may be re-activated on a swap.
	running atomic.Bool
	source  string
	// noPolicy is PreFilter's message while no valid policy is loaded.
	noPolicy    string
	profileName string
	// placementEvents: PostBind records a PlacedByRule Event per pod.
	placementEvents bool
}

var (
	_ fwk.PreFilterPlugin   = &MLPolicy{}
	_ fwk.FilterPlugin      = &MLPolicy{}
	_ fwk.PostFilterPlugin  = &MLPolicy{}
	_ fwk.PreScorePlugin    = &MLPolicy{}
	_ fwk.ScorePlugin       = &MLPolicy{}
	_ fwk.BindPlugin        = &MLPolicy{}
	_ fwk.PostBindPlugin    = &MLPolicy{}
	_ fwk.EnqueueExtensions = &MLPolicy{}
	_ fwk.SignPlugin        = &MLPolicy{}
)

// Name returns the plugin name.
func (pl *MLPolicy) Name() string { return Name }

// New builds the plugin: it loads the policy file (if any), starts watching
// the policy ConfigMap and returns once the ConfigMap's state is processed,
// so the first pods are judged by the admin's policy.
func New(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	args, err := argsOf(obj)
	if err != nil {
		return nil, err
	}
	if errs := validation.ValidateMLPolicyArgs(nil, args); len(errs) > 0 {
		return nil, fmt.Errorf("invalid %s args: %w", Name, errs.ToAggregate())
	}
	return newWithStore(ctx, args, h, policystore.New())
}

// NewReadinessGated is New for the ml-scheduler binary: the scheduler
// also waits, before it reports ready and runs for leader, until this
// profile has a valid policy in force (pkg/policyready). The simulator and
// tests, which start schedulers on their own, use New.
func NewReadinessGated(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	p, err := New(ctx, obj, h)
	if err != nil {
		return nil, err
	}
	if f := h.SharedInformerFactory(); f != nil {
		pl := p.(*MLPolicy)
		policyready.Register(f, pl.store)
		if pl.store.Load() == nil {
			pl.logger.Info("Not reporting ready nor running for leader until a valid placement policy is in force", "source", pl.source)
		}
	}
	return p, nil
}

func newWithStore(ctx context.Context, args *config.MLPolicyArgs, h fwk.Handle, store *policystore.Store) (*MLPolicy, error) {
	logger := klog.FromContext(ctx).WithValues("plugin", Name)
	ctx = klog.NewContext(ctx, logger)
	policystore.RegisterMetrics()
	RegisterMetrics()
	pl := &MLPolicy{handle: h, store: store, index: nodeindex.New(), learner: fragmentation.NewLearner(), profileName: h.ProfileName(), placementEvents: args.PlacementEvents, logger: logger}
	pl.gpus = gpudra.NewInventory(policy.DefaultDRA().Source(), pl.index.RefreshNode)
	pl.index.SetDevices(pl.gpus.Node)
	jobs, err := newJobIndex(logger, h, store)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	pl.jobs = jobs
	if args.PolicyConfigMapName != "" {
		pl.source = fmt.Sprintf("ConfigMap %s/%s", args.PolicyConfigMapNamespace, args.PolicyConfigMapName)
		pl.noPolicy = fmt.Sprintf("%s (%s: its %s annotation and %s Events say why)",
			ReasonNoPolicy, pl.source, policywatch.AnnotationLastError, policywatch.ReasonRejected)
	} else {
		pl.source = "file " + args.PolicyFile
		pl.noPolicy = ReasonNoPolicy
	}
	store.Subscribe(pl.onSwap(logger))

	if args.PolicyFile != "" {
		data, err := os.ReadFile(args.PolicyFile)
		if err != nil {
			return nil, fmt.Errorf("%s args policyFile: %w", Name, err)
		}
		p, err := policy.Load(data)
		if err != nil {
			return nil, fmt.Errorf("%s args policyFile %s: %w", Name, args.PolicyFile, err)
		}
		store.Swap(p, "file "+args.PolicyFile)
		logger.Info("Placement policy loaded from file", "file", args.PolicyFile, "hash", p.Hash())
	}

	if h.SharedInformerFactory() != nil {
		nodes := h.SharedInformerFactory().Core().V1().Nodes().Informer()
		if _, err := nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj interface{}) { pl.onNode(obj) },
			UpdateFunc: func(_, obj interface{}) { pl.onNode(obj) },
			DeleteFunc: pl.onNodeDelete,
		}); err != nil {
			return nil, fmt.Errorf("%s: watching nodes: %w", Name, err)
		}
		if err := pl.watchPods(); err != nil {
			return nil, fmt.Errorf("%s: watching pods: %w", Name, err)
		}
		// Without a DRA manager the scheduler runs without DRA, and the
		// ResourceSlice API may not be served.
		if h.SharedDRAManager() != nil {
			if err := pl.watchResourceSlices(); err != nil {
				return nil, fmt.Errorf("%s: watching ResourceSlices: %w", Name, err)
			}
			if err := pl.watchResourceClaims(); err != nil {
				return nil, fmt.Errorf("%s: watching ResourceClaims: %w", Name, err)
			}
		}
	}
	if args.PolicyConfigMapName != "" && h.ClientSet() != nil {
		w := policywatch.New(policywatch.Options{
			Client:    h.ClientSet(),
			Namespace: args.PolicyConfigMapNamespace,
			Name:      args.PolicyConfigMapName,
			Key:       args.PolicyConfigMapKey,
			Store:     store,
		})
		if err := w.Start(ctx); err != nil {
			return nil, err
		}
	}
	if store.Load() == nil {
		logger.Info("No valid placement policy yet: pods of this scheduler stay pending until one is loaded", "source", pl.source)
	}
	return pl, nil
}

func argsOf(obj runtime.Object) (*config.MLPolicyArgs, error) {
	switch a := obj.(type) {
	case *config.MLPolicyArgs:
		return a, nil
	case nil:
		// No pluginConfig entry: the framework passes nil for out-of-tree
		// plugins, so apply the versioned defaults here.
		v := &configv1.MLPolicyArgs{}
		configv1.SetDefaults_MLPolicyArgs(v)
		out := &config.MLPolicyArgs{}
		if err := configv1.Convert_v1_MLPolicyArgs_To_config_MLPolicyArgs(v, out, nil); err != nil {
			return nil, err
		}
		return out, nil
	default:
		return nil, fmt.Errorf("want args of type MLPolicyArgs, got %T", obj)
	}
}

// onSwap keeps the index and messages in step with the policy and sends
// pods rejected under the old policy back to the active queue: a swap is
// not a cluster event the queue knows of.
func (pl *MLPolicy) onSwap(logger klog.Logger) func(*policystore.Active) {
	return func(a *policystore.Active) {
		pl.gpus.SetSource(a.Policy.DRA.Source())
		pl.index.SetPolicy(a.Policy)
		pl.messages.Store(newMessages(a))
		if !pl.running.Load() || pl.handle.SharedInformerFactory() == nil {
			return
		}
		pods, err := pl.handle.SharedInformerFactory().Core().V1().Pods().Lister().List(labels.Everything())
		if err != nil {
			logger.Error(err, "Listing pods to re-activate after a policy swap")
			return
		}
		pending := map[string]*v1.Pod{}
		for _, p := range pods {
			if p.Spec.NodeName == "" && p.Spec.SchedulerName == pl.profileName {
				pending[p.Namespace+"/"+p.Name] = p
			}
		}
		if len(pending) > 0 {
			pl.handle.Activate(logger, pending)
		}
		logger.V(2).Info("Re-activated pending pods after a policy swap", "pods", len(pending), "generation", a.Generation)
	}
}

func (pl *MLPolicy) onNode(obj interface{}) {
	if n, ok := obj.(*v1.Node); ok {
		pl.index.UpsertNode(n)
	}
}

func (pl *MLPolicy) onNodeDelete(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if n, ok := obj.(*v1.Node); ok {
		pl.index.DeleteNode(n.Name)
	}
}
