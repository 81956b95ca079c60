package cluster

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// SchedulerName is the profile name ml-scheduler serves.
const SchedulerName = "ml-scheduler"

// PodSpec describes a test pod.
type PodSpec struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
	CPU       string            `json:"cpu,omitempty"`
	Memory    string            `json:"memory,omitempty"`
	GPUs      int64             `json:"gpus,omitempty"`
	// SchedulerName defaults to ml-scheduler.
	SchedulerName string `json:"schedulerName,omitempty"`
	NodeName      string `json:"nodeName,omitempty"`
}

// Pod builds the Pod object of a spec.
func (s PodSpec) Pod() *v1.Pod {
	req := v1.ResourceList{}
	if s.CPU != "" {
		req[v1.ResourceCPU] = resource.MustParse(s.CPU)
	}
	if s.Memory != "" {
		req[v1.ResourceMemory] = resource.MustParse(s.Memory)
	}
	limits := v1.ResourceList{}
	if s.GPUs > 0 {
		q := *resource.NewQuantity(s.GPUs, resource.DecimalSI)
		req["nvidia.com/gpu"] = q
		limits["nvidia.com/gpu"] = q
	}
	name := s.SchedulerName
	if name == "" {
		name = SchedulerName
	}
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: s.Labels},
		Spec: v1.PodSpec{
			SchedulerName: name,
			NodeName:      s.NodeName,
			Containers: []v1.Container{{
				Name: "main", Image: "registry.k8s.io/pause:3.10",
				Resources: v1.ResourceRequirements{Requests: req, Limits: limits},
			}},
		},
	}
}

// CreatePod creates the pod of a spec.
func CreatePod(ctx context.Context, client kubernetes.Interface, s PodSpec) (*v1.Pod, error) {
	p, err := client.CoreV1().Pods(s.Namespace).Create(ctx, s.Pod(), metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating pod %s/%s: %w", s.Namespace, s.Name, err)
	}
	return p, nil
}

// WaitScheduled waits until the pod is bound to a node.
func WaitScheduled(ctx context.Context, client kubernetes.Interface, ns, name string, timeout time.Duration) (*v1.Pod, error) {
	var pod *v1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pod = p
		return p.Spec.NodeName != "", nil
	})
	if err != nil {
		return pod, fmt.Errorf("pod %s/%s not scheduled within %v (%s): %w", ns, name, timeout, Unschedulable(pod), err)
	}
	return pod, nil
}

// WaitUnschedulable waits until the scheduler marks the pod unschedulable and
// returns the condition's message.
func WaitUnschedulable(ctx context.Context, client kubernetes.Interface, ns, name string, timeout time.Duration) (string, error) {
	var msg string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Spec.NodeName != "" {
			return false, fmt.Errorf("pod %s/%s was scheduled to %s", ns, name, p.Spec.NodeName)
		}
		msg = Unschedulable(p)
		return msg != "", nil
	})
	return msg, err
}

// Unschedulable returns the message of the pod's PodScheduled=False condition.
func Unschedulable(p *v1.Pod) string {
	if p == nil {
		return ""
	}
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse {
			return c.Message
		}
	}
	return ""
}

// PlacedRule returns the rule that placed a pod ml-scheduler bound (its
// annotation), waiting for the pod to be bound.
func PlacedRule(ctx context.Context, client kubernetes.Interface, pod *v1.Pod, timeout time.Duration) (string, error) {
	p, err := PlacementOf(ctx, client, pod, timeout)
	return p.Rule, err
}

func isAlreadyExists(err error) bool { return apierrors.IsAlreadyExists(err) }
