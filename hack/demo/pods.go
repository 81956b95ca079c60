package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

// demoPod is one entry of pods.yaml: a cluster.PodSpec plus what the demo
// needs to submit it and to check where it went.
type demoPod struct {
	cluster.PodSpec `json:",inline"`
	Count           int               `json:"count,omitempty"`
	Wave            int               `json:"wave"`
	NodeSelector    map[string]string `json:"nodeSelector,omitempty"`
	// PodGroup makes the pods (all of this entry's count) one gang: a
	// scheduling.k8s.io/v1beta1 PodGroup of that name with gang minCount
	// MinCount (default: count), named by each pod's spec.schedulingGroup.
	PodGroup  string       `json:"podGroup,omitempty"`
	MinCount  int32        `json:"minCount,omitempty"`
	Expect    expectation  `json:"expect"`
	AfterEdit *expectation `json:"afterEdit,omitempty"`
}

// expectation is what must hold for a pod; the demo fails otherwise.
type expectation struct {
	Pending   bool     `json:"pending,omitempty"`
	Rule      string   `json:"rule,omitempty"`
	GPUModels []string `json:"gpuModels,omitempty"`
	// OneRack: every pod of the entry's PodGroup is on a node of one rack.
	OneRack bool `json:"oneRack,omitempty"`
}

func (p *demoPod) key() string { return p.Namespace + "/" + p.Name }

// ours reports whether ml-scheduler is the pod's scheduler.
func (p *demoPod) ours() bool {
	return p.SchedulerName == "" || p.SchedulerName == cluster.SchedulerName
}

// loadPods reads pods.yaml, expanding count like cluster.Expand does for nodes.
func loadPods(path string) ([]*demoPod, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var specs []demoPod
	if err := yaml.UnmarshalStrict(data, &specs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []*demoPod
	for _, s := range specs {
		if s.Wave < 1 || s.Wave > 3 {
			return nil, fmt.Errorf("%s: pod %s: wave must be 1, 2 or 3", path, s.Name)
		}
		if s.PodGroup != "" && s.MinCount == 0 {
			s.MinCount = int32(max(s.Count, 1))
		}
		if s.Count <= 1 {
			c := s
			out = append(out, &c)
			continue
		}
		for i := 0; i < s.Count; i++ {
			c := s
			c.Name = fmt.Sprintf("%s-%d", s.Name, i)
			c.Count = 0
			out = append(out, &c)
		}
	}
	return out, nil
}

func namespacesOf(pods []*demoPod) []string {
	var ns []string
	for _, p := range pods {
		if !slices.Contains(ns, p.Namespace) {
			ns = append(ns, p.Namespace)
		}
	}
	return ns
}

func wave(pods []*demoPod, n int) []*demoPod {
	var out []*demoPod
	for _, p := range pods {
		if p.Wave == n {
			out = append(out, p)
		}
	}
	return out
}

// submit creates the pods in order (the scheduler's queue is FIFO for pods
// of equal priority, so jobs are placed in the order they are listed).
func submit(ctx context.Context, client kubernetes.Interface, pods []*demoPod) error {
	groups := map[string]bool{}
	for _, p := range pods {
		pod := p.Pod()
		pod.Spec.NodeSelector = p.NodeSelector
		if p.PodGroup != "" {
			if !groups[p.Namespace+"/"+p.PodGroup] {
				if err := createPodGroup(ctx, client, p); err != nil {
					return err
				}
				groups[p.Namespace+"/"+p.PodGroup] = true
			}
			pod.Spec.SchedulingGroup = &v1.PodSchedulingGroup{PodGroupName: ptr.To(p.PodGroup)}
		}
		if _, err := client.CoreV1().Pods(p.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating pod %s: %w", p.key(), err)
		}
	}
	return nil
}

// createPodGroup creates the gang PodGroup of p's entry, with no topology
// constraint of its own: the policy's rule says where a gang goes.
func createPodGroup(ctx context.Context, client kubernetes.Interface, p *demoPod) error {
	pg := &schedulingv1beta1.PodGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.PodGroup},
		Spec: schedulingv1beta1.PodGroupSpec{SchedulingPolicy: schedulingv1beta1.PodGroupSchedulingPolicy{
			Gang: &schedulingv1beta1.GangSchedulingPolicy{MinCount: p.MinCount}}},
	}
	if _, err := client.SchedulingV1beta1().PodGroups(p.Namespace).Create(ctx, pg, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating PodGroup %s/%s: %w", p.Namespace, p.PodGroup, err)
	}
	return nil
}

// checkRacks returns a violation for each PodGroup whose rows expect one
// rack and span several (or are not all placed).
func checkRacks(rows []row, expects []expectation) []string {
	racks := map[string]map[string]bool{}
	var order []string
	for i, r := range rows {
		if !expects[i].OneRack || r.spec.PodGroup == "" {
			continue
		}
		k := r.pod.Namespace + "/" + r.spec.PodGroup
		if racks[k] == nil {
			racks[k] = map[string]bool{}
			order = append(order, k)
		}
		rack := "(pending)"
		if r.node != nil {
			rack = r.node.Labels[labelRack]
		}
		racks[k][rack] = true
	}
	var bad []string
	for _, k := range order {
		if len(racks[k]) != 1 || racks[k]["(pending)"] {
			bad = append(bad, fmt.Sprintf("PodGroup %s: pods in racks %v, want all placed within one rack", k, slices.Sorted(maps.Keys(racks[k]))))
		}
	}
	return bad
}

// check compares a row with the expectation and returns the violations.
// Whatever the expectation, a pod of another namespace on a node of the
// owned pool is a violation: that is the security property of pools.
func check(r row, e expectation, ownerLabel, owner string) []string {
	var bad []string
	if r.node != nil && r.node.Labels[ownerLabel] == owner && r.pod.Namespace != owner {
		bad = append(bad, fmt.Sprintf("%s: tenant pod reached %s's pool (node %s)", r.key(), owner, r.node.Name))
	}
	switch {
	case e.Pending && r.node != nil:
		bad = append(bad, fmt.Sprintf("%s: should be pending, was placed on %s", r.key(), r.node.Name))
	case e.Pending:
	case r.node == nil:
		bad = append(bad, fmt.Sprintf("%s: should be placed, is pending: %s", r.key(), r.reason))
	default:
		if e.Rule != "" && r.placement.Rule != e.Rule {
			bad = append(bad, fmt.Sprintf("%s: placed by rule %q, want %q", r.key(), r.placement.Rule, e.Rule))
		}
		if len(e.GPUModels) > 0 && !slices.Contains(e.GPUModels, r.model()) {
			bad = append(bad, fmt.Sprintf("%s: on a %q node (%s), want one of %q", r.key(), r.model(), r.node.Name, e.GPUModels))
		}
	}
	return bad
}
