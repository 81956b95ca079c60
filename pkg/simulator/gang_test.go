package simulator

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/kubernetes/fake"
	featuregatetesting "k8s.io/component-base/featuregate/testing"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/utils/ptr"
)

const gangPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: training
  match: {namespaces: [train]}
  gang: {required: true, topologyKey: rack}
- name: team-a
  match: {namespaces: [mixed], podSelector: {matchLabels: {team: a}}}
- name: team-b
  match: {namespaces: [mixed], podSelector: {matchLabels: {team: b}}}
default:
  packing: MinFragmentation
`

// gangCluster: three racks of three 8-GPU nodes; in rack r-2 one node
// already runs a 4-GPU pod.
func gangCluster() *Workload {
	w := &Workload{Name: "gangs"}
	for r := 1; r <= 3; r++ {
		for i := 1; i <= 3; i++ {
			n := node(fmt.Sprintf("r%d-n%d", r, i), "64", 8, "A100")
			n.Labels["rack"] = fmt.Sprintf("r-%d", r)
			w.Nodes = append(w.Nodes, n)
		}
	}
	busy := pod("busy", "4", 4)
	busy.Spec.NodeName = "r2-n1"
	w.Running = []*v1.Pod{busy}
	return w
}

func gangPod(ns, name, group string, gpus int64, labels map[string]string) *v1.Pod {
	p := pod(name, "8", gpus)
	p.Namespace = ns
	p.Labels = labels
	p.Spec.SchedulerName = "ml-scheduler"
	if group != "" {
		p.Spec.SchedulingGroup = &v1.PodSchedulingGroup{PodGroupName: ptr.To(group)}
	}
	return p
}

func podGroup(ns, name string, minCount int32) *schedulingv1beta1.PodGroup {
	return &schedulingv1beta1.PodGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: schedulingv1beta1.PodGroupSpec{SchedulingPolicy: schedulingv1beta1.PodGroupSchedulingPolicy{
			Gang: &schedulingv1beta1.GangSchedulingPolicy{MinCount: minCount}}},
	}
}

// TestGangsInProcess runs gangs through the real scheduler with the
// workload gates on: all-or-nothing within one rack, the fullest rack
// first, and the policy's refusals with their reasons.
func TestGangsInProcess(t *testing.T) {
	featuregatetesting.SetFeatureGatesDuringTest(t, utilfeature.DefaultFeatureGate, featuregatetesting.FeatureOverrides{
		features.GenericWorkload:                 true,
		features.TopologyAwareWorkloadScheduling: true,
	})
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	// The shipped profile: MLPolicy generates and scores the placements.
	shipped, err := os.ReadFile("../../manifests/base/scheduler-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := Configuration{Name: "ml", SchedulerConfig: shipped, Policy: []byte(gangPolicy)}
	s, err := c.resolve()
	if err != nil {
		t.Fatal(err)
	}
	client := newFakeAPI()
	w := gangCluster()
	if err := prepare(ctx, client, w, c, s); err != nil {
		t.Fatal(err)
	}
	stop, err := startScheduler(ctx, client, s)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	create := func(objs ...any) {
		t.Helper()
		for _, o := range objs {
			var err error
			switch o := o.(type) {
			case *v1.Pod:
				_, err = client.CoreV1().Pods(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			case *schedulingv1beta1.PodGroup:
				_, err = client.SchedulingV1beta1().PodGroups(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("gang lands whole in the fullest rack that holds it", func(t *testing.T) {
		create(podGroup("train", "job-1", 2),
			gangPod("train", "job-1-0", "job-1", 8, nil), gangPod("train", "job-1-1", "job-1", 8, nil))
		nodes := waitBound(ctx, t, client.Clientset, "train", "job-1-0", "job-1-1")
		for _, n := range nodes {
			if !strings.HasPrefix(n, "r2-") || n == "r2-n1" {
				t.Errorf("gang placed on %v, want the two free nodes of rack r-2 (the partly used rack)", nodes)
			}
		}
	})
	t.Run("gang bigger than any rack waits and says so", func(t *testing.T) {
		pods := []any{podGroup("train", "job-2", 4)}
		var names []string
		for i := range 4 {
			names = append(names, fmt.Sprintf("job-2-%d", i))
			pods = append(pods, gangPod("train", names[i], "job-2", 8, nil))
		}
		create(pods...)
		msg := waitUnschedulable(ctx, t, client.Clientset, "train", names[0])
		if !strings.Contains(msg, "needs 4 pods × 8 GPUs") || !strings.Contains(msg, "within one rack") || !strings.Contains(msg, "has room for 3") {
			t.Errorf("message %q does not say what the gang needs and the best rack", msg)
		}
		assertUnbound(ctx, t, client.Clientset, "train", names...)
	})
	t.Run("a lone pod under a gang rule is refused", func(t *testing.T) {
		create(gangPod("train", "lone", "", 1, nil))
		msg := waitUnschedulable(ctx, t, client.Clientset, "train", "lone")
		if !strings.Contains(msg, `rule "training" requires its pods to come as a gang`) {
			t.Errorf("message %q", msg)
		}
	})
	t.Run("a gang across two rules is refused", func(t *testing.T) {
		create(podGroup("mixed", "job-3", 2),
			gangPod("mixed", "job-3-a", "job-3", 1, map[string]string{"team": "a"}),
			gangPod("mixed", "job-3-b", "job-3", 1, map[string]string{"team": "b"}))
		msg := waitUnschedulable(ctx, t, client.Clientset, "mixed", "job-3-a")
		if !strings.Contains(msg, "match different rules") {
			t.Errorf("message %q", msg)
		}
		assertUnbound(ctx, t, client.Clientset, "mixed", "job-3-a", "job-3-b")
	})
}

func waitBound(ctx context.Context, t *testing.T, client *fake.Clientset, ns string, names ...string) []string {
	t.Helper()
	var nodes []string
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		nodes = nodes[:0]
		for _, n := range names {
			p, err := client.CoreV1().Pods(ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil || p.Spec.NodeName == "" {
				return false, nil
			}
			nodes = append(nodes, p.Spec.NodeName)
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("pods %v not bound: %v", names, err)
	}
	return nodes
}

func waitUnschedulable(ctx context.Context, t *testing.T, client *fake.Clientset, ns, name string) string {
	t.Helper()
	var msg string
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Message != "" {
				msg = c.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s not reported unschedulable: %v", ns, name, err)
	}
	return msg
}

func assertUnbound(ctx context.Context, t *testing.T, client *fake.Clientset, ns string, names ...string) {
	t.Helper()
	for _, n := range names {
		p, err := client.CoreV1().Pods(ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.NodeName != "" {
			t.Errorf("pod %s/%s bound to %s: a gang that cannot be placed whole must bind no pod", ns, n, p.Spec.NodeName)
		}
	}
}
