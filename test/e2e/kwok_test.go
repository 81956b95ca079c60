package e2e

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// kwokAnnotation marks the nodes kwok manages.
const kwokAnnotation = "kwok.x-k8s.io/node"

// kwokStages is kwok's configuration: a node becomes Ready, a bound pod
// becomes Running and Ready with an IP, a deleted pod goes away (there is no
// kubelet to confirm graceful deletion).
const kwokStages = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-ready
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - type: Ready
        status: "True"
        reason: KubeletReady
        message: simulated by kwok
        lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-running
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.status.phase'
      operator: In
      values: [Pending]
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state: {running: {startedAt: {{ $now | Quote }}}}
      {{ end }}
      {{ with PodIPWith .spec.nodeName false ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      podIP: {{ . | Quote }}
      podIPs: [{ip: {{ . | Quote }}}]
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: Exists
  next:
    delete: true
`

// node is a fake node for kwok: capacity and labels set here, Ready set by
// kwok, a pool taint when pool != "".
type node struct {
	name, zone, gpuModel, pool string
	cpu, memory                string
	gpus                       int64
}

// GPU model label (NVIDIA GPU feature discovery's) and the pool taint key.
const (
	gpuModelLabel = "nvidia.com/gpu.product"
	poolTaintKey  = "ml-scheduler.io/pool"
)

func (n node) object() *v1.Node {
	res := v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse(n.cpu),
		v1.ResourceMemory: resource.MustParse(n.memory),
		v1.ResourcePods:   resource.MustParse("110"),
	}
	labels := map[string]string{
		"kubernetes.io/hostname":      n.name,
		"topology.kubernetes.io/zone": n.zone,
		"type":                        "kwok",
	}
	if n.gpus > 0 {
		res["nvidia.com/gpu"] = *resource.NewQuantity(n.gpus, resource.DecimalSI)
		labels[gpuModelLabel] = n.gpuModel
		labels["nvidia.com/gpu.present"] = "true"
	}
	var taints []v1.Taint
	if n.pool != "" {
		// Registered with its taint (kubelet --register-with-taints), so no
		// scheduler sees it untainted for a moment.
		taints = []v1.Taint{{Key: poolTaintKey, Value: n.pool, Effect: v1.TaintEffectNoSchedule}}
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: labels, Annotations: map[string]string{kwokAnnotation: "fake"}},
		Spec:       v1.NodeSpec{Taints: taints},
		Status:     v1.NodeStatus{Capacity: res, Allocatable: res},
	}
}

// createNodes creates the nodes (pool nodes with their taint) and waits until
// kwok has made them Ready.
func createNodes(ctx context.Context, t *testing.T, e *Env, nodes ...node) {
	t.Helper()
	for _, n := range nodes {
		if _, err := e.Admin.CoreV1().Nodes().Create(ctx, n.object(), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating node %s: %v", n.name, err)
		}
	}
	for _, n := range nodes {
		waitNodeReady(ctx, t, e.Admin, n.name)
	}
}

func waitNodeReady(ctx context.Context, t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("node %s not made Ready by kwok: %v", name, err)
	}
}
