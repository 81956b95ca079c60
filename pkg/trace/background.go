package trace

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackgroundPods returns count pods bound round-robin to nodes, asking 1m
// CPU and 1Mi each, in namespace, scheduled by no profile under test: the
// pods of a busy cluster, which cost a scheduler the memory and per-node
// work of their number without changing where a replayed pod fits.
func BackgroundPods(nodes []*v1.Node, count int, namespace string) ([]*v1.Pod, error) {
	if count < 0 {
		return nil, fmt.Errorf("background pods: %d is negative", count)
	}
	if count > 0 && len(nodes) == 0 {
		return nil, fmt.Errorf("background pods: %d pods and no node to bind them to", count)
	}
	req := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1m"), v1.ResourceMemory: resource.MustParse("1Mi")}
	pods := make([]*v1.Pod, count)
	for i := range pods {
		pods[i] = &v1.Pod{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			// 50 label values: informers and label selectors see a spread of apps.
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("background-%06d", i), Namespace: namespace,
				Labels: map[string]string{"app": fmt.Sprintf("background-%d", i%50)}},
			Spec: v1.PodSpec{
				NodeName:      nodes[i%len(nodes)].Name,
				SchedulerName: "background",
				Containers: []v1.Container{{Name: "main", Image: PauseImage,
					Resources: v1.ResourceRequirements{Requests: req.DeepCopy()}}},
			},
			Status: v1.PodStatus{Phase: v1.PodRunning},
		}
	}
	return pods, nil
}
