package trace

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
)

// Scale makes a cluster factor times the size of nodes and a workload
// factor times pods, for replays at sizes the trace does not reach (the
// Alibaba trace has 1523 nodes; factor 10 gives 15,230). Each node appears
// factor times, copy k > 0 named "<name>-x<k>" (its hostname label too), so
// node shapes keep their proportions. Each pod is followed by its factor-1
// copies, named the same way, so the arrival mix over time is the trace's and
// every pod stands for factor identical pods arriving together. Pods must not
// be bound (Scale copies the queue, not running pods) and must not name
// claims or groups, which would need copies of their own.
func Scale(nodes []*v1.Node, pods []*v1.Pod, factor int) ([]*v1.Node, []*v1.Pod, error) {
	if factor < 1 {
		return nil, nil, fmt.Errorf("scale factor %d: must be at least 1", factor)
	}
	if factor == 1 {
		return nodes, pods, nil
	}
	outNodes := make([]*v1.Node, 0, factor*len(nodes))
	for k := range factor {
		for _, n := range nodes {
			if k == 0 {
				outNodes = append(outNodes, n)
				continue
			}
			c := n.DeepCopy()
			c.Name = copyName(n.Name, k)
			if _, ok := c.Labels[v1.LabelHostname]; ok {
				c.Labels[v1.LabelHostname] = c.Name
			}
			outNodes = append(outNodes, c)
		}
	}
	outPods := make([]*v1.Pod, 0, factor*len(pods))
	for _, p := range pods {
		if p.Spec.NodeName != "" || len(p.Spec.ResourceClaims) > 0 || p.Spec.SchedulingGroup != nil {
			return nil, nil, fmt.Errorf("pod %s/%s: Scale copies only unbound pods without resource claims or a scheduling group", p.Namespace, p.Name)
		}
		outPods = append(outPods, p)
		for k := 1; k < factor; k++ {
			c := p.DeepCopy()
			c.Name = copyName(p.Name, k)
			outPods = append(outPods, c)
		}
	}
	return outNodes, outPods, nil
}

func copyName(name string, k int) string { return fmt.Sprintf("%s-x%d", name, k) }
