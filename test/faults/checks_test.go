package faults

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
	"github.com/ml-scheduler/ml-scheduler/pkg/replicastatus"
)

// verdict collects the failures of the checks, and what each proved.
type verdict struct {
	failures []string
	proved   []string
}

func (v *verdict) fail(format string, args ...any) {
	// Enough to diagnose without flooding the log with 2000 lines.
	if len(v.failures) < 40 {
		v.failures = append(v.failures, fmt.Sprintf(format, args...))
	}
}

func (v *verdict) ok(format string, args ...any) {
	v.proved = append(v.proved, fmt.Sprintf(format, args...))
}

// check runs every check of a scenario from the API and the recorder.
func check(ctx context.Context, w *world, ps *policies, rec *recorder, rs *replicas) (*verdict, map[string]int, error) {
	v := &verdict{}
	pods := map[string]*v1.Pod{}
	for _, ns := range []string{w.confNS, w.freeNS} {
		list, err := env.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: scenarioLabel + "=" + w.short})
		if err != nil {
			return nil, nil, err
		}
		for i := range list.Items {
			p := &list.Items[i]
			pods[p.Namespace+"/"+p.Name] = p
		}
	}
	plan := w.pods()

	// Bound, none lost: every planned pod exists with its UID and a node.
	unbound, lost := 0, 0
	for _, pl := range plan {
		p := pods[pl.key()]
		w.mu.Lock()
		uid := w.uids[pl.key()]
		w.mu.Unlock()
		switch {
		case p == nil || p.UID != uid:
			lost++
			v.fail("pod %s lost (exists: %v)", pl.key(), p != nil)
		case p.Spec.NodeName == "":
			unbound++
			v.fail("pod %s not bound: %s", pl.key(), cluster.Unschedulable(p))
		}
	}
	if len(pods) != len(plan) {
		v.fail("%d pods of the scenario in the API, %d planned", len(pods), len(plan))
	}
	if unbound == 0 && lost == 0 {
		v.ok("all %d pods bound, none lost", len(plan))
	}

	// Exactly once: one node ever per pod (recorder), the node it shows
	// now, no pod deleted or recreated, at most one bind in all logs.
	records, deleted := rec.snapshot()
	twice := 0
	for _, pl := range plan {
		r := records[pl.key()]
		p := pods[pl.key()]
		if len(r.nodes) > 1 {
			twice++
			v.fail("pod %s was seen on nodes %v", pl.key(), r.nodes)
		}
		if p != nil && len(r.nodes) == 1 && r.nodes[0] != p.Spec.NodeName {
			v.fail("pod %s recorded on %s, now on %s", pl.key(), r.nodes[0], p.Spec.NodeName)
		}
		if len(r.uids) > 1 {
			v.fail("pod %s had UIDs %v", pl.key(), r.uids)
		}
	}
	for _, d := range deleted {
		v.fail("pod %s was deleted", d)
	}
	binds := bindsInLogs(rs, w)
	for key, n := range binds {
		if n > 1 {
			twice++
			v.fail("pod %s bound %d times according to the replicas' logs", key, n)
		}
	}
	if twice == 0 && len(deleted) == 0 {
		v.ok("each pod seen on exactly one node by a re-listing informer, none deleted, none logged bound twice (%d bind lines in %d replica logs)", sum(binds), len(rs.processes()))
	}

	// A replica restarted while the apiserver was away must not have
	// concluded the PodGroup API is not served (gangs placed pod by pod).
	for _, p := range rs.processes() {
		if b, err := os.ReadFile(p.LogPath); err == nil && strings.Contains(string(b), "gang scheduling is off") {
			v.fail("replica %s turned gang scheduling off (%s)", p.Name, p.LogPath)
		}
	}

	nodes, err := env.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: scenarioLabel + "=" + w.short})
	if err != nil {
		return nil, nil, err
	}
	before := len(v.failures)
	overcommit(v, w, nodes.Items, pods)
	if err := draShares(ctx, v, w, pods); err != nil {
		return nil, nil, err
	}
	if len(v.failures) == before {
		v.ok("no node over-committed (cpu, memory, pods, nvidia.com/gpu) and no GPU device's share over 1")
	}

	before = len(v.failures)
	gangs := gangsWhole(v, w, pods)
	if len(v.failures) == before {
		v.ok("%d gangs whole (every member of each bound)", gangs)
	}

	before = len(v.failures)
	hashes := placedByPolicy(v, w, ps, pods)
	if len(v.failures) == before {
		v.ok("every pod on a node its recorded policy allows (hashes %v)", hashes)
	}

	before = len(v.failures)
	replicasAgree(ctx, v, rs, ps)
	if len(v.failures) == before {
		v.ok("the %d replicas' status Leases all report the last valid policy %s, no error", len(rs.slots), ps.lastValid)
	}
	return v, hashes, nil
}

func sum(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// bindsInLogs counts "Successfully bound" lines per pod across every
// process of every slot (a process killed just after binding may not have
// logged it; two lines for one pod are two bindings).
func bindsInLogs(rs *replicas, w *world) map[string]int {
	re := regexp.MustCompile(`"Successfully bound pod to node" pod="((?:` + regexp.QuoteMeta(w.confNS) + `|` + regexp.QuoteMeta(w.freeNS) + `)/[^"]+)"`)
	out := map[string]int{}
	for _, p := range rs.processes() {
		b, err := os.ReadFile(p.LogPath)
		if err != nil {
			continue
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out[m[1]]++
		}
	}
	return out
}

// overcommit fails for a node whose bound pods ask more than it has.
func overcommit(v *verdict, w *world, nodes []v1.Node, pods map[string]*v1.Pod) {
	used := map[string]v1.ResourceList{}
	count := map[string]int64{}
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			continue
		}
		req := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
		u := used[p.Spec.NodeName]
		if u == nil {
			u = v1.ResourceList{}
			used[p.Spec.NodeName] = u
		}
		for name, q := range req {
			cur := u[name]
			cur.Add(q)
			u[name] = cur
		}
		count[p.Spec.NodeName]++
	}
	for _, n := range nodes {
		for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory, "nvidia.com/gpu"} {
			if name == "nvidia.com/gpu" && w.nodes[n.Name].kind == kindDRA {
				continue // served by claims there: draShares counts the devices
			}
			have := n.Status.Allocatable[name]
			got := used[n.Name][name]
			if got.Cmp(have) > 0 {
				v.fail("node %s: pods ask %s %s, it has %s", n.Name, got.String(), name, have.String())
			}
		}
		if pods := n.Status.Allocatable.Pods().Value(); count[n.Name] > pods {
			v.fail("node %s: %d pods, it allows %d", n.Name, count[n.Name], pods)
		}
	}
}

// draShares checks the claims: each device's shares add up to at most one
// GPU, each GPU-sharing pod's claim is allocated on its node and reserved
// for it, and a whole-GPU pod served from DRA holds a device of its node.
func draShares(ctx context.Context, v *verdict, w *world, pods map[string]*v1.Pod) error {
	perDevice := map[string]resource.Quantity{}
	for _, ns := range []string{w.confNS, w.freeNS} {
		claims, err := env.client.ResourceV1().ResourceClaims(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for i := range claims.Items {
			c := &claims.Items[i]
			shares := cluster.SharesOf(c)
			for _, s := range shares {
				k := s.Node + "/" + s.Device
				q := perDevice[k]
				q.Add(s.Share)
				perDevice[k] = q
			}
			if len(c.Status.ReservedFor) > 1 {
				v.fail("claim %s/%s reserved for %d consumers", ns, c.Name, len(c.Status.ReservedFor))
			}
			for _, r := range c.Status.ReservedFor {
				p := pods[ns+"/"+r.Name]
				if p == nil || p.UID != r.UID {
					v.fail("claim %s/%s reserved for %s, not a live pod of the scenario", ns, c.Name, r.Name)
					continue
				}
				for _, s := range shares {
					if s.Node != p.Spec.NodeName {
						v.fail("claim %s/%s of pod %s allocated on %s, the pod is on %s", ns, c.Name, r.Name, s.Node, p.Spec.NodeName)
					}
				}
			}
		}
	}
	one := resource.MustParse("1")
	for k, q := range perDevice {
		if q.Cmp(one) > 0 {
			v.fail("device %s: shares add up to %s", k, q.String())
		}
	}
	for key, p := range pods {
		kind := p.Labels[kindLabel]
		onDRA := w.nodes[p.Spec.NodeName].kind == kindDRA
		if kind != kindShare && !(kind == kindGPU && onDRA) {
			continue
		}
		names := cluster.PodClaimNames(p)
		if len(names) == 0 {
			v.fail("pod %s (%s) on %s uses no claim", key, kind, p.Spec.NodeName)
			continue
		}
		for _, n := range names {
			c, err := env.client.ResourceV1().ResourceClaims(p.Namespace).Get(ctx, n, metav1.GetOptions{})
			if err != nil || c.Status.Allocation == nil {
				v.fail("pod %s: claim %s not allocated (%v)", key, n, err)
				continue
			}
			reserved := false
			for _, r := range c.Status.ReservedFor {
				reserved = reserved || r.UID == p.UID
			}
			if !reserved {
				v.fail("pod %s: claim %s not reserved for it", key, n)
			}
		}
	}
	return nil
}

// gangsWhole checks every gang has all its members bound.
func gangsWhole(v *verdict, w *world, pods map[string]*v1.Pod) int {
	n := 0
	for _, u := range w.units {
		if u.group == "" {
			continue
		}
		n++
		bound := 0
		for _, pl := range u.pods {
			if p := pods[pl.key()]; p != nil && p.Spec.NodeName != "" {
				bound++
			}
		}
		if bound != len(u.pods) {
			v.fail("gang %s/%s: %d of %d members bound", u.pods[0].ns, u.group, bound, len(u.pods))
		}
	}
	return n
}

// placedByPolicy checks each pod carries the hash of a valid policy the
// test wrote and the rule of its namespace, and sits where that policy
// allows: in the pool it gives the namespace, on a GPU node only if it
// asks a GPU (reserveGPUNodes), on a DRA node if it shares one. It returns
// the pods per hash.
func placedByPolicy(v *verdict, w *world, ps *policies, pods map[string]*v1.Pod) map[string]int {
	hashes := map[string]int{}
	for key, p := range pods {
		if p.Spec.NodeName == "" {
			continue
		}
		hash, rule := p.Annotations[mlpolicy.AnnotationPolicyHash], p.Annotations[mlpolicy.AnnotationRule]
		hashes[hash]++
		confinedTo, known := ps.poolOf(hash)
		if !known {
			v.fail("pod %s on %s carries policy hash %q, not one of the valid policies written %v", key, p.Spec.NodeName, hash, ps.hashes())
			continue
		}
		wantRule, wantPool := ruleFree, poolC
		if p.Namespace == w.confNS {
			wantRule, wantPool = ruleConfined, confinedTo
		}
		node := w.nodes[p.Spec.NodeName]
		if rule != wantRule {
			v.fail("pod %s: rule %q, want %q", key, rule, wantRule)
		}
		if node.pool != wantPool {
			v.fail("pod %s bound under policy %s to %s in pool %q; that policy confines its namespace to pool %q", key, hash, p.Spec.NodeName, node.pool, wantPool)
		}
		switch kind := p.Labels[kindLabel]; {
		case (kind == kindCPU || kind == kindGang) && node.kind != kindCPU:
			v.fail("pod %s asks no GPU but is on %s node %s (reserveGPUNodes)", key, node.kind, p.Spec.NodeName)
		case kind == kindGPU && node.kind == kindCPU, kind == kindShare && node.kind != kindDRA:
			v.fail("pod %s (%s) on %s node %s", key, kind, node.kind, p.Spec.NodeName)
		}
	}
	return hashes
}

func (ps *policies) hashes() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []string
	for h := range ps.byHash {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// replicasAgree waits (a minute at most) for every slot's status Lease to
// report the last valid policy, live and without error, and for the
// ConfigMap to report it in force.
func replicasAgree(ctx context.Context, v *verdict, rs *replicas, ps *policies) {
	var states []replicastatus.State
	var why string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		all, err := replicastatus.Read(ctx, env.client, mlNamespace, time.Now())
		if err != nil {
			why = err.Error()
			return false, nil
		}
		states, why = nil, ""
		ids := map[string]bool{}
		for _, id := range rs.ids() {
			ids[id] = true
		}
		for _, s := range all {
			if !ids[s.Identity] {
				continue
			}
			states = append(states, s)
			if s.Stale || s.Hash != ps.lastValid || s.LastError != "" {
				why += fmt.Sprintf(" %s: hash %s stale %v error %q;", s.Identity, s.Hash, s.Stale, s.LastError)
			}
		}
		if len(states) != len(ids) {
			why += fmt.Sprintf(" %d status Leases of %d replicas;", len(states), len(ids))
		}
		return why == "", nil
	})
	if err != nil {
		v.fail("replicas do not agree on the last valid policy %s:%s", ps.lastValid, why)
	}
	if _, err := cluster.WaitPolicyStatus(ctx, env.client, mlNamespace, rs.w.policyName, 30*time.Second, func(s cluster.PolicyStatus) bool {
		return s.ActiveHash == ps.lastValid && s.LastError == ""
	}); err != nil {
		v.fail("%v", err)
	}
}

func (v *verdict) String() string { return strings.Join(v.proved, "; ") }
