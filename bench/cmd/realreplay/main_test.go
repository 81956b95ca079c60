package main

import (
	"os"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

func TestBinaryFor(t *testing.T) {
	o := &options{binary: "auto"}
	for file, want := range map[string]string{
		"../../../manifests/base/scheduler-config.yaml": "ml-scheduler",
		"../../placement/stock-default.yaml":            "kube-scheduler",
		"../../placement/stock-mostallocated.yaml":      "kube-scheduler",
	} {
		cfg, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := o.binaryFor(cfg)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", file, got, err, want)
		}
	}
	if got, _ := (&options{binary: "ml-scheduler"}).binaryFor(nil); got != "ml-scheduler" {
		t.Errorf("--binary ml-scheduler: got %q", got)
	}
}

func TestCompareReplays(t *testing.T) {
	node := func(name, cpu string, gpus int64) *v1.Node {
		return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
			Status: v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu), "nvidia.com/gpu": *resource.NewQuantity(gpus, resource.DecimalSI)}}}
	}
	nodes := []*v1.Node{node("a1", "8", 8), node("a2", "8", 8), node("b1", "4", 2)}
	pr := func(arrival int, n string, unsched bool) simulator.PodResult {
		return simulator.PodResult{Arrival: arrival, Node: n, Unschedulable: unsched}
	}
	real := &simulator.Result{Placements: []simulator.PodResult{pr(1, "a1", false), pr(2, "b1", false), pr(3, "a2", false), pr(4, "", true), pr(5, "a1", false)}}
	inproc := &simulator.Result{Placements: []simulator.PodResult{pr(1, "a1", false), pr(2, "a2", false), pr(3, "b1", false), pr(4, "a2", false), pr(5, "", true)}}
	got := compareReplays(real, inproc, nodes, "nvidia.com/gpu", "nvidia.com/gpu.product")
	// Pods 4 and 5 swap outcomes; 2 and 3 swap shapes (the counts stay
	// equal); only pod 1 is on the same node.
	want := agreement{pods: 5, sameOutcome: 3, firstDivergence: 4, placedInBoth: 3, sameShape: 1, sameNode: 1, offCounts: 0}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
