package faults

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// Labels of the objects a scenario creates.
const (
	scenarioLabel = "faults.ml-scheduler.io/scenario"
	poolLabel     = "faults.ml-scheduler.io/pool"
	kindLabel     = "faults.ml-scheduler.io/kind"
)

// Kinds of node and of pod.
const (
	kindCPU   = "cpu"   // node without GPUs; pod asking none
	kindGPU   = "gpu"   // node with nvidia.com/gpu in allocatable; pod asking one
	kindDRA   = "dra"   // node whose GPUs are a gpudra ResourceSlice
	kindShare = "share" // pod asking a share of one GPU through its claim
	kindGang  = "gang"  // CPU pod of a PodGroup

	gangSize   = 4
	shareMilli = 250
	workers    = 16
)

// The pools: the confined namespace's pods go to poolA or poolB (the two
// policies disagree), the free namespace's to poolC.
const poolA, poolB, poolC = "a", "b", "c"

// world is one scenario's cluster: namespaces, nodes and planned pods.
type world struct {
	short          string // in every name
	confNS, freeNS string
	policyName     string // the ConfigMap in mlNamespace
	leaseName      string // leader election

	nodes map[string]nodeInfo
	// units are single pods or whole gangs, in creation order.
	units []unit

	mu   sync.Mutex
	uids map[string]types.UID // ns/name -> UID at creation
}

type nodeInfo struct{ pool, kind string }

type podPlan struct{ ns, name, kind, group string }

func (p podPlan) key() string { return p.ns + "/" + p.name }

// unit is what is created together: one pod, or a gang and its PodGroup.
type unit struct {
	group string // "" for a single pod
	pods  []podPlan
}

// newWorld plans n pods, half in each namespace, of each namespace 60%
// CPU pods, 20% gang members, 10% whole-GPU pods and 10% GPU-sharing pods,
// and nodes enough that either pool of the confined namespace, and the
// free namespace's pool, hold all that namespace's pods.
func newWorld(short string, n int) *world {
	w := &world{
		short:      short,
		confNS:     "f-" + short + "-conf",
		freeNS:     "f-" + short + "-free",
		policyName: "faults-" + short + "-policy",
		leaseName:  "faults-" + short,
		nodes:      map[string]nodeInfo{},
		uids:       map[string]types.UID{},
	}
	rng := rand.New(rand.NewSource(int64(len(short)) + int64(n)))
	for _, ns := range []string{w.confNS, w.freeNS} {
		m := n / 2
		if ns == w.freeNS {
			m = n - n/2
		}
		gangs := m / 5 / gangSize
		gpu, share := m/10, m/10
		cpu := m - gangs*gangSize - gpu - share
		add := func(kind string, count int) {
			for i := 0; i < count; i++ {
				w.units = append(w.units, unit{pods: []podPlan{{ns: ns, name: fmt.Sprintf("%s-%d", kind, i), kind: kind}}})
			}
		}
		add(kindCPU, cpu)
		add(kindGPU, gpu)
		add(kindShare, share)
		for g := 0; g < gangs; g++ {
			u := unit{group: fmt.Sprintf("gang-%d", g)}
			for i := 0; i < gangSize; i++ {
				u.pods = append(u.pods, podPlan{ns: ns, name: fmt.Sprintf("gang-%d-%d", g, i), kind: kindGang, group: u.group})
			}
			w.units = append(w.units, u)
		}
		pools := []string{poolA, poolB}
		if ns == w.freeNS {
			pools = []string{poolC}
		}
		// CPU nodes hold 100 of their 110 pods; whole-GPU and sharing pods
		// each get a device of their own in the worst case.
		for _, pool := range pools {
			w.addNodes(pool, kindCPU, ceilDiv(cpu+gangs*gangSize, 100)+1)
			w.addNodes(pool, kindGPU, ceilDiv(gpu, 8)+1)
			w.addNodes(pool, kindDRA, ceilDiv(share, 8)+1)
		}
	}
	rng.Shuffle(len(w.units), func(i, j int) { w.units[i], w.units[j] = w.units[j], w.units[i] })
	return w
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (w *world) addNodes(pool, kind string, count int) {
	for i := 0; i < count; i++ {
		w.nodes[fmt.Sprintf("%s-%s-%s-%d", w.short, pool, kind, i)] = nodeInfo{pool: pool, kind: kind}
	}
}

// pods is every planned pod.
func (w *world) pods() []podPlan {
	var out []podPlan
	for _, u := range w.units {
		out = append(out, u.pods...)
	}
	return out
}

// split cuts the units into a first wave holding about frac of the pods
// and rest waves of about equal size.
func (w *world) split(frac float64, rest int) [][]unit {
	total := len(w.pods())
	var waves [][]unit
	cur, size := []unit{}, 0
	limit := int(frac * float64(total))
	for _, u := range w.units {
		cur, size = append(cur, u), size+len(u.pods)
		if size >= limit && len(waves) < rest {
			waves = append(waves, cur)
			cur, size = []unit{}, 0
			if rest > 0 {
				limit = int((1 - frac) * float64(total) / float64(rest))
			}
		}
	}
	if len(cur) > 0 {
		waves = append(waves, cur)
	}
	return waves
}

// setup creates the namespaces and the nodes (with ResourceSlices for the
// DRA ones), in parallel.
func (w *world) setup(ctx context.Context) error {
	if err := cluster.EnsureNamespaces(ctx, env.client, w.confNS, w.freeNS); err != nil {
		return err
	}
	names := make([]string, 0, len(w.nodes))
	for name := range w.nodes {
		names = append(names, name)
	}
	return parallel(ctx, len(names), func(i int) error {
		name := names[i]
		info := w.nodes[name]
		labels := map[string]string{scenarioLabel: w.short, poolLabel: info.pool, kindLabel: info.kind}
		switch info.kind {
		case kindCPU:
			return cluster.CreateNode(ctx, env.client, cluster.NodeSpec{Name: name, CPU: "32", Memory: "128Gi", Labels: labels})
		case kindGPU:
			labels[cluster.GPUModelLabel] = "NVIDIA-A100"
			return cluster.CreateNode(ctx, env.client, cluster.NodeSpec{Name: name, CPU: "64", Memory: "512Gi", GPUs: 8, Labels: labels})
		default:
			labels[cluster.GPUModelLabel] = "NVIDIA-A100"
			return cluster.CreateDRANode(ctx, env.client, cluster.NodeSpec{Name: name, CPU: "64", Memory: "512Gi", GPUs: 8, Labels: labels}, "")
		}
	})
}

// createUnits creates the PodGroups, claims and pods of units in parallel.
// Each create is retried while the apiserver is away; an object already
// there (a retried create that had gone through) counts as created.
func (w *world) createUnits(ctx context.Context, units []unit) error {
	return parallel(ctx, len(units), func(i int) error {
		u := units[i]
		if u.group != "" {
			pg := &schedulingv1beta1.PodGroup{
				ObjectMeta: metav1.ObjectMeta{Name: u.group, Namespace: u.pods[0].ns, Labels: map[string]string{scenarioLabel: w.short}},
				Spec: schedulingv1beta1.PodGroupSpec{SchedulingPolicy: schedulingv1beta1.PodGroupSchedulingPolicy{
					Gang: &schedulingv1beta1.GangSchedulingPolicy{MinCount: int32(len(u.pods))},
				}},
			}
			if err := retryCreate(ctx, func() error {
				_, err := env.client.SchedulingV1beta1().PodGroups(pg.Namespace).Create(ctx, pg, metav1.CreateOptions{})
				return err
			}); err != nil {
				return fmt.Errorf("PodGroup %s/%s: %w", pg.Namespace, pg.Name, err)
			}
		}
		for _, p := range u.pods {
			if err := w.createPod(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
}

func (w *world) createPod(ctx context.Context, p podPlan) error {
	spec := cluster.PodSpec{Name: p.name, Namespace: p.ns, CPU: "200m", Memory: "256Mi",
		Labels: map[string]string{scenarioLabel: w.short, kindLabel: p.kind}}
	switch p.kind {
	case kindGPU:
		spec.CPU, spec.Memory, spec.GPUs = "1", "4Gi", 1
	case kindShare:
		spec.CPU, spec.Memory = "500m", "1Gi"
	}
	pod := spec.Pod()
	if p.group != "" {
		pod.Spec.SchedulingGroup = &v1.PodSchedulingGroup{PodGroupName: ptr.To(p.group)}
	}
	if p.kind == kindShare {
		claim := gpudra.ShareClaim(p.ns, cluster.ShareClaimName(p.name), shareMilli)
		if err := retryCreate(ctx, func() error {
			_, err := env.client.ResourceV1().ResourceClaims(p.ns).Create(ctx, claim, metav1.CreateOptions{})
			return err
		}); err != nil {
			return fmt.Errorf("claim %s/%s: %w", p.ns, claim.Name, err)
		}
		gpudra.UseClaim(pod, claim.Name)
	}
	var created *v1.Pod
	err := retryCreate(ctx, func() error {
		var err error
		created, err = env.client.CoreV1().Pods(p.ns).Create(ctx, pod, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			created, err = env.client.CoreV1().Pods(p.ns).Get(ctx, p.name, metav1.GetOptions{})
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("pod %s: %w", p.key(), err)
	}
	if p.group != "" && created.Spec.SchedulingGroup == nil {
		return fmt.Errorf("pod %s: the apiserver dropped spec.schedulingGroup (GenericWorkload off?)", p.key())
	}
	w.mu.Lock()
	w.uids[p.key()] = created.UID
	w.mu.Unlock()
	return nil
}

// retryCreate runs create until it succeeds, the object exists, or three
// minutes of errors passed (the apiserver may be restarting).
func retryCreate(ctx context.Context, create func() error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(context.Context) (bool, error) {
		last = create()
		return last == nil || apierrors.IsAlreadyExists(last), nil
	})
	if err != nil && last != nil {
		return last
	}
	return err
}

// parallel runs fn(0..n-1) on a bounded worker pool and returns the first error.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	var mu sync.Mutex
	var errs []string
	workqueue.ParallelizeUntil(ctx, workers, n, func(i int) {
		if err := fn(i); err != nil {
			mu.Lock()
			errs = append(errs, err.Error())
			mu.Unlock()
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("%d failed, first: %s", len(errs), errs[0])
	}
	return ctx.Err()
}

// cleanup force-deletes the scenario's pods and deletes its nodes and
// ResourceSlices, so the next scenario's schedulers see a small cluster.
// Claims and PodGroups stay in their namespaces (nothing reads them).
func (w *world) cleanup(ctx context.Context) {
	zero := int64(0)
	sel := metav1.ListOptions{LabelSelector: scenarioLabel + "=" + w.short}
	for _, ns := range []string{w.confNS, w.freeNS} {
		_ = env.client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, sel)
	}
	_ = env.client.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	var dra []string
	for name, info := range w.nodes {
		if info.kind == kindDRA {
			dra = append(dra, name)
		}
	}
	_ = cluster.DeleteNodeSlices(ctx, env.client, dra...)
}

// counts summarises the plan for the report.
func (w *world) counts() string {
	by := map[string]int{}
	for _, p := range w.pods() {
		by[p.kind]++
	}
	nodes := map[string]int{}
	for _, n := range w.nodes {
		nodes[n.kind]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d pods (%d cpu, %d whole-GPU, %d GPU-sharing, %d in %d gangs of %d) on %d nodes (%d cpu, %d gpu, %d dra)",
		len(w.pods()), by[kindCPU], by[kindGPU], by[kindShare], by[kindGang], by[kindGang]/gangSize, gangSize,
		len(w.nodes), nodes[kindCPU], nodes[kindGPU], nodes[kindDRA])
	return b.String()
}
