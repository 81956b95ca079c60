package policycheck

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

const header = "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\n"

// compile loads a policy the scheduler must accept.
func compile(t *testing.T, body string) *policy.Compiled {
	t.Helper()
	c, findings := Load([]byte(header + body))
	if c == nil {
		t.Fatalf("policy rejected: %v", findings)
	}
	return c
}

// want is an expected finding: severity, field path and words of its message.
type want struct {
	sev   Severity
	field string
	words []string
}

func e(field string, words ...string) want { return want{SeverityError, field, words} }
func w(field string, words ...string) want { return want{SeverityWarning, field, words} }

// expectFindings checks the findings are exactly the wanted ones, in order.
func expectFindings(t *testing.T, got []Finding, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d findings, want %d:\n%s", len(got), len(wants), lines(got))
	}
	for i, wt := range wants {
		g := got[i]
		if g.Severity != wt.sev || g.Field != wt.field {
			t.Errorf("finding %d: %s %s, want %s %s:\n%s", i, g.Severity, g.Field, wt.sev, wt.field, lines(got))
			continue
		}
		for _, word := range wt.words {
			if !strings.Contains(g.Message, word) {
				t.Errorf("finding %d (%s) lacks %q: %s", i, g.Field, word, g.Message)
			}
		}
	}
}

func lines(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

func node(name string, gpus int64, labels map[string]string) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	n.Status.Allocatable = v1.ResourceList{v1.ResourceCPU: resource.MustParse("32")}
	if gpus > 0 {
		n.Status.Allocatable["nvidia.com/gpu"] = *resource.NewQuantity(gpus, resource.DecimalSI)
	}
	return n
}

func gpuNode(name, model string, gpus int64, labels map[string]string) *v1.Node {
	l := map[string]string{policy.DefaultGPUModelLabel: model}
	for k, v := range labels {
		l[k] = v
	}
	return node(name, gpus, l)
}

func pendingPod(ns, name string, gpus int64, labels map[string]string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: v1.PodSpec{SchedulerName: "ml-scheduler", Containers: []v1.Container{{Name: "main"}}}}
	if gpus > 0 {
		q := *resource.NewQuantity(gpus, resource.DecimalSI)
		p.Spec.Containers[0].Resources.Requests = v1.ResourceList{"nvidia.com/gpu": q}
		p.Spec.Containers[0].Resources.Limits = v1.ResourceList{"nvidia.com/gpu": q}
	}
	return p
}
