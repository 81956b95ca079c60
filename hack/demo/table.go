package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

const (
	labelModel = "nvidia.com/gpu.product"
	labelZone  = "topology.kubernetes.io/zone"
	labelRack  = "topology.kubernetes.io/rack"

	placeTimeout     = 60 * time.Second
	pendingTimeout   = 30 * time.Second
	placementTimeout = 15 * time.Second
)

// row is where one pod stands: on a node, placed by a rule, or pending and why.
type row struct {
	spec      *demoPod
	pod       *v1.Pod
	node      *v1.Node // nil while pending
	placement cluster.Placement
	reason    string // why it is pending: node counts per reason (or ours)
	explain   string // why it is pending: the policy's explanation
}

func (r row) key() string { return r.pod.Namespace + "/" + r.pod.Name }

func (r row) model() string { return r.node.Labels[labelModel] }

// collector turns pods into rows, waiting for each to settle.
type collector struct {
	client kubernetes.Interface
	nodes  map[string]*v1.Node
	// policyNames names known policy hashes ("policy.yaml") for the table.
	policyNames map[string]string
}

// collect waits for each pod to settle as e expects (placed, or pending
// with a message from the policy whose hash is wantHash) and returns its row.
// A pod that does not settle is returned as it is, for check to report.
func (c *collector) collect(ctx context.Context, p *demoPod, e expectation, wantHash string) (row, error) {
	settled := func(pod *v1.Pod) bool {
		switch {
		case pod.Spec.NodeName != "":
			return true
		case !p.ours():
			return true // nobody will ever write a condition on it
		case e.Pending:
			msg := cluster.Unschedulable(pod)
			return msg != "" && (wantHash == "" || strings.Contains(msg, wantHash))
		}
		return false
	}
	timeout := placeTimeout
	if e.Pending {
		timeout = pendingTimeout
	}
	var pod *v1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		got, err := c.client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pod = got
		return settled(pod), nil
	})
	if ctx.Err() != nil {
		return row{}, ctx.Err()
	}
	r := row{spec: p, pod: pod}
	if pod == nil {
		return r, fmt.Errorf("pod %s: %w", p.key(), err)
	}
	if pod.Spec.NodeName == "" {
		r.reason, r.explain = pendingReason(pod, p)
		if err != nil && e.Pending && wantHash != "" {
			r.reason = fmt.Sprintf("(still judged by an older policy, want %s) %s", c.policyNames[wantHash], r.reason)
		}
		return r, nil
	}
	r.node = c.nodes[pod.Spec.NodeName]
	if r.node == nil {
		r.node = &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: pod.Spec.NodeName}}
	}
	if p.ours() {
		if r.placement, err = cluster.PlacementOf(ctx, c.client, pod, placementTimeout); err != nil {
			r.placement.Rule = "(no rule annotation)"
		}
	}
	return r, nil
}

// pendingReason splits the PodScheduled condition into what the table shows
// and what the policy explains. The scheduler writes
// "0/N nodes are available: <counts>. preemption: <...>, <MLPolicy's explanation>":
// the table keeps the counts, the explanation is printed below it, and
// preemption's part (no priorities in the demo) is left out.
func pendingReason(pod *v1.Pod, p *demoPod) (counts, explanation string) {
	if !p.ours() {
		return fmt.Sprintf("not ours: schedulerName %s (no kube-scheduler runs in the demo)", pod.Spec.SchedulerName), ""
	}
	msg := cluster.Unschedulable(pod)
	if msg == "" {
		return "not attempted yet", ""
	}
	counts = msg
	if i := strings.Index(msg, ". preemption: "); i >= 0 {
		counts = msg[:i]
	}
	if _, after, ok := strings.Cut(counts, " nodes are available: "); ok {
		counts = after
	}
	if i := strings.Index(msg, "pod matched rule "); i >= 0 {
		explanation = strings.TrimSuffix(msg[i:], ".")
	}
	return counts, explanation
}

// printTable prints the rows as an aligned table. Pending pods show PENDING
// and, in the last column, why.
func (c *collector) printTable(title string, rows []row) {
	fmt.Printf("\n%s\n", title)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  POD\tNAMESPACE\tGPUS\tNODE\tGPU MODEL\tZONE/RACK\tPOLICY\tRULE (pending: nodes per reason)")
	var notes []string
	for _, r := range rows {
		gpus := "-"
		if r.spec.GPUs > 0 {
			gpus = fmt.Sprint(r.spec.GPUs)
		}
		if r.node == nil {
			fmt.Fprintf(tw, "  %s\t%s\t%s\tPENDING\t-\t-\t-\t%s\n", r.pod.Name, r.pod.Namespace, gpus, r.reason)
			if r.explain != "" {
				notes = append(notes, r.key()+": "+r.explain)
			}
			continue
		}
		model := orDash(r.node.Labels[labelModel])
		if team := r.node.Labels[labelTeam]; team != "" {
			model += " (" + team + ")"
		}
		where := orDash(r.node.Labels[labelZone]) + "/" + orDash(r.node.Labels[labelRack])
		policy, rule := "-", orDash(r.placement.Rule)
		if r.placement.PolicyHash != "" {
			policy = c.policyNames[r.placement.PolicyHash]
			if policy == "" {
				policy = r.placement.PolicyHash
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.pod.Name, r.pod.Namespace, gpus, r.node.Name, model, where, policy, rule)
	}
	tw.Flush()
	if len(notes) > 0 {
		fmt.Println("  Pending, as ml-scheduler explains it (PodScheduled condition):")
		for _, n := range notes {
			fmt.Println("    " + n)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
