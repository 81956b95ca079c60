// Package cluster builds sample GPU clusters on a real control plane and runs
// the ml-scheduler binary against it. The tests, the demo and the benchmark use it.
package cluster

import (
	"context"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// NodeSpec describes a worker node. No kubelet runs: a node is an API object
// whose status (capacity, Ready) is written here once.
type NodeSpec struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	CPU    string            `json:"cpu"`
	Memory string            `json:"memory"`
	GPUs   int64             `json:"gpus,omitempty"`
	// GPUResource defaults to nvidia.com/gpu.
	GPUResource string     `json:"gpuResource,omitempty"`
	Taints      []v1.Taint `json:"taints,omitempty"`
	// Count > 1 creates Name-0 … Name-(Count-1).
	Count int `json:"count,omitempty"`
}

// LoadNodes reads a YAML list of NodeSpec, expanding Count.
func LoadNodes(path string) ([]NodeSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var specs []NodeSpec
	if err := yaml.UnmarshalStrict(data, &specs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return Expand(specs), nil
}

// Expand turns each spec with Count > 1 into Count specs named Name-<i>.
func Expand(specs []NodeSpec) []NodeSpec {
	var out []NodeSpec
	for _, s := range specs {
		if s.Count <= 1 {
			out = append(out, s)
			continue
		}
		for i := 0; i < s.Count; i++ {
			c := s
			c.Name = fmt.Sprintf("%s-%d", s.Name, i)
			c.Count = 0
			out = append(out, c)
		}
	}
	return out
}

// Node builds the Node object of a spec.
func (s NodeSpec) Node() (*v1.Node, error) {
	cpu, err := resource.ParseQuantity(s.CPU)
	if err != nil {
		return nil, fmt.Errorf("node %s: cpu: %w", s.Name, err)
	}
	mem, err := resource.ParseQuantity(s.Memory)
	if err != nil {
		return nil, fmt.Errorf("node %s: memory: %w", s.Name, err)
	}
	res := v1.ResourceList{
		v1.ResourceCPU:    cpu,
		v1.ResourceMemory: mem,
		v1.ResourcePods:   resource.MustParse("110"),
	}
	if s.GPUs > 0 {
		name := s.GPUResource
		if name == "" {
			name = "nvidia.com/gpu"
		}
		res[v1.ResourceName(name)] = *resource.NewQuantity(s.GPUs, resource.DecimalSI)
	}
	labels := map[string]string{"kubernetes.io/hostname": s.Name}
	for k, v := range s.Labels {
		labels[k] = v
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Labels: labels},
		Spec:       v1.NodeSpec{Taints: s.Taints},
		Status: v1.NodeStatus{
			Capacity:    res,
			Allocatable: res,
			Phase:       v1.NodeRunning,
			Conditions: []v1.NodeCondition{{
				Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady",
				LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(),
			}},
		},
	}, nil
}

// CreateNodes creates the nodes (expanding Count) and writes their status.
func CreateNodes(ctx context.Context, client kubernetes.Interface, specs []NodeSpec) error {
	for _, s := range Expand(specs) {
		if err := CreateNode(ctx, client, s); err != nil {
			return err
		}
	}
	return nil
}

// CreateNode creates one node and writes its status (capacity, Ready).
func CreateNode(ctx context.Context, client kubernetes.Interface, s NodeSpec) error {
	n, err := s.Node()
	if err != nil {
		return err
	}
	status := n.Status
	created, err := client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating node %s: %w", s.Name, err)
	}
	created.Status = status
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing status of node %s: %w", s.Name, err)
	}
	return nil
}

// EnsureNamespaces creates the namespaces that do not exist yet.
func EnsureNamespaces(ctx context.Context, client kubernetes.Interface, names ...string) error {
	for _, ns := range names {
		_, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !isAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	return nil
}
