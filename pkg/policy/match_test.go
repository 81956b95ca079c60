package policy

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func gpuContainer(n int64) v1.Container {
	q := *resource.NewQuantity(n, resource.DecimalSI)
	return v1.Container{Resources: v1.ResourceRequirements{Requests: v1.ResourceList{DefaultGPUResource: q}}}
}

func TestPodGPURequest(t *testing.T) {
	always := v1.ContainerRestartPolicyAlways
	sidecar := gpuContainer(1)
	sidecar.RestartPolicy = &always
	tests := []struct {
		name string
		spec v1.PodSpec
		want int64
	}{
		{"no GPU", v1.PodSpec{Containers: []v1.Container{{}}}, 0},
		{"app containers add up", v1.PodSpec{Containers: []v1.Container{gpuContainer(2), gpuContainer(3)}}, 5},
		{"an init container larger than the apps", v1.PodSpec{InitContainers: []v1.Container{gpuContainer(8)}, Containers: []v1.Container{gpuContainer(2)}}, 8},
		{"a sidecar adds to the apps", v1.PodSpec{InitContainers: []v1.Container{sidecar}, Containers: []v1.Container{gpuContainer(2)}}, 3},
	}
	p := &Compiled{GPUResources: []v1.ResourceName{DefaultGPUResource}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.PodGPURequest(&v1.Pod{Spec: tc.spec}); got != tc.want {
				t.Errorf("PodGPURequest = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestOwnedBy(t *testing.T) {
	c, err := Load([]byte(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: a, nodeSelector: {matchLabels: {p: a}}, ownerNamespaces: [research, vision]}
- {name: b, nodeSelector: {matchLabels: {p: b}}}
- {name: c, nodeSelector: {matchLabels: {p: c}}, ownerNamespaces: [research]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for ns, want := range map[string][]int{"research": {0, 2}, "vision": {0}, "team-b": nil} {
		var w PoolSet
		for _, i := range want {
			w.Add(i)
		}
		if got := c.OwnedBy(ns); got != w {
			t.Errorf("OwnedBy(%s) = %v, want pools %v", ns, got, want)
		}
	}
}
