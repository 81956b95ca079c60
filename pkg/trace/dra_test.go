package trace

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

const draNodesCSV = `sn,cpu_milli,memory_mib,gpu,model
cpu-0,32000,65536,0,
gpu-0,64000,262144,2,T4
gpu-1,64000,262144,8,V100M32
`

const draPodsCSV = `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec
cpu-pod,1000,1024,0,0,
share-pod,6000,12288,1,460,T4
whole-pod,8000,16384,1,1000,
eight-pod,32000,65536,8,1000,
`

func readDRA(t *testing.T, o Options) ([]*v1.Node, []*v1.Pod) {
	t.Helper()
	nodes, err := ReadOpenBNodes(strings.NewReader(draNodesCSV), "nodes.csv", o)
	if err != nil {
		t.Fatal(err)
	}
	pods, err := ReadOpenBPods(strings.NewReader(draPodsCSV), "pods.csv", o)
	if err != nil {
		t.Fatal(err)
	}
	return nodes, pods
}

func TestShareGPUs(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		// want: slices by node, claims (name → milli), GPU requests by pod
		// (of the resource the options name), claims pods use.
		wantSlices map[string]int
		wantModels map[string]string
		wantClaims map[string]int64
		wantGPUs   map[string]int64
		wantUses   map[string]string
	}{{
		name:     "whole",
		opts:     Options{},
		wantGPUs: map[string]int64{"share-pod": 1, "whole-pod": 1, "eight-pod": 8},
	}, {
		name:       "dra",
		opts:       Options{GPUSharing: GPUSharingDRA},
		wantSlices: map[string]int{"gpu-0": 2, "gpu-1": 8},
		wantModels: map[string]string{"gpu-0": "T4", "gpu-1": "V100M32"},
		wantClaims: map[string]int64{"share-pod": 460},
		wantGPUs:   map[string]int64{"whole-pod": 1, "eight-pod": 8},
		wantUses:   map[string]string{"share-pod": "share-pod"},
	}, {
		name:       "dra, other names",
		opts:       Options{GPUSharing: GPUSharingDRA, GPUResource: "example.com/gpu", GPUModelLabel: "gpu-model", Namespace: "trace"},
		wantSlices: map[string]int{"gpu-0": 2, "gpu-1": 8},
		wantModels: map[string]string{"gpu-0": "T4", "gpu-1": "V100M32"},
		wantClaims: map[string]int64{"share-pod": 460},
		wantGPUs:   map[string]int64{"whole-pod": 1, "eight-pod": 8},
		wantUses:   map[string]string{"share-pod": "share-pod"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			nodes, pods := readDRA(t, tc.opts)
			got, err := ShareGPUs(nodes, pods, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			o := tc.opts.withDefaults()
			if (got.DeviceClass != nil) != (tc.wantSlices != nil) {
				t.Errorf("DeviceClass = %v, want one only in DRA mode", got.DeviceClass)
			}
			if got.DeviceClass != nil {
				if diff := cmp.Diff(gpudra.DeviceClass(), got.DeviceClass); diff != "" {
					t.Errorf("DeviceClass (-want +got):\n%s", diff)
				}
			}
			slices := map[string]int{}
			models := map[string]string{}
			for _, s := range got.ResourceSlices {
				if want := gpudra.SliceName(*s.Spec.NodeName); s.Name != want {
					t.Errorf("slice %s of node %s, want name %s", s.Name, *s.Spec.NodeName, want)
				}
				slices[*s.Spec.NodeName] = len(s.Spec.Devices)
				models[*s.Spec.NodeName] = *s.Spec.Devices[0].Attributes[gpudra.ModelAttribute].StringValue
			}
			if diff := cmp.Diff(tc.wantSlices, nilIfEmpty(slices)); diff != "" {
				t.Errorf("slices: devices by node (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantModels, nilIfEmpty(models)); diff != "" {
				t.Errorf("slices: model by node (-want +got):\n%s", diff)
			}
			for _, n := range got.Nodes {
				_, has := n.Status.Allocatable[o.GPUResource]
				if want := tc.wantSlices == nil && n.Name != "cpu-0"; has != want {
					t.Errorf("node %s: %s in allocatable = %v, want %v", n.Name, o.GPUResource, has, want)
				}
				if n.Name == "gpu-0" && n.Labels[o.GPUModelLabel] != "T4" {
					t.Errorf("node gpu-0 lost its model label: %v", n.Labels)
				}
			}
			claims := map[string]int64{}
			for _, c := range got.ResourceClaims {
				if c.Namespace != o.Namespace {
					t.Errorf("claim %s in namespace %q, want %q", c.Name, c.Namespace, o.Namespace)
				}
				q := c.Spec.Devices.Requests[0].Exactly.Capacity.Requests[gpudra.ShareCapacity]
				claims[c.Name] = q.MilliValue()
				if diff := cmp.Diff(gpudra.ShareClaim(c.Namespace, c.Name, q.MilliValue()), c); diff != "" {
					t.Errorf("claim %s (-want +got):\n%s", c.Name, diff)
				}
			}
			if diff := cmp.Diff(tc.wantClaims, nilIfEmpty(claims)); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			gpus := map[string]int64{}
			uses := map[string]string{}
			for _, p := range got.Pods {
				c := p.Spec.Containers[0]
				if q, ok := c.Resources.Requests[o.GPUResource]; ok {
					gpus[p.Name] = q.Value()
					if l := c.Resources.Limits[o.GPUResource]; l.Cmp(q) != 0 {
						t.Errorf("pod %s: GPU limit %s, request %s", p.Name, l.String(), q.String())
					}
				} else if _, ok := c.Resources.Limits[o.GPUResource]; ok {
					t.Errorf("pod %s: a GPU limit without a request", p.Name)
				}
				for _, rc := range p.Spec.ResourceClaims {
					uses[p.Name] = *rc.ResourceClaimName
					if len(c.Resources.Claims) != 1 || c.Resources.Claims[0].Name != rc.Name {
						t.Errorf("pod %s: container claims %v, want the pod's claim %q", p.Name, c.Resources.Claims, rc.Name)
					}
				}
				if c.Resources.Requests.Cpu().IsZero() {
					t.Errorf("pod %s lost its CPU request", p.Name)
				}
			}
			if diff := cmp.Diff(tc.wantGPUs, nilIfEmpty(gpus)); diff != "" {
				t.Errorf("GPU requests (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantUses, nilIfEmpty(uses)); diff != "" {
				t.Errorf("claims used (-want +got):\n%s", diff)
			}
			// The inputs are left as they were.
			if _, ok := pods[1].Spec.Containers[0].Resources.Requests[o.GPUResource]; !ok || len(pods[1].Spec.ResourceClaims) > 0 {
				t.Errorf("ShareGPUs changed its input pod: %v", pods[1].Spec)
			}
			if _, ok := nodes[1].Status.Allocatable[o.GPUResource]; !ok {
				t.Errorf("ShareGPUs changed its input node: %v", nodes[1].Status.Allocatable)
			}
		})
	}
}

func nilIfEmpty[V any](m map[string]V) map[string]V {
	if len(m) == 0 {
		return nil
	}
	return m
}

func TestShareGPUsErrors(t *testing.T) {
	dra := Options{GPUSharing: GPUSharingDRA}
	for _, tc := range []struct {
		name string
		opts Options
		edit func(nodes []*v1.Node, pods []*v1.Pod)
		want string
	}{{
		name: "unknown mode",
		opts: Options{GPUSharing: "fractional"},
		want: `GPU sharing "fractional": want "whole" or "dra"`,
	}, {
		name: "fractional GPUs on a node",
		opts: dra,
		edit: func(nodes []*v1.Node, _ []*v1.Pod) {
			nodes[1].Status.Allocatable[DefaultGPUResource] = resource.MustParse("1500m")
		},
		want: `node.gpu-0.status.allocatable[nvidia.com/gpu]: Invalid value: "1500m": a node's GPUs are a whole number, 0 or more`,
	}, {
		name: "gpu-milli not a number",
		opts: dra,
		edit: func(_ []*v1.Node, pods []*v1.Pod) { pods[1].Annotations[AnnotationGPUMilli] = "half" },
		want: `pod.default/share-pod.metadata.annotations[ml-scheduler.io/gpu-milli]: Invalid value: "half": thousandths of a GPU: a whole number from 1 to 1000`,
	}, {
		name: "gpu-milli 0",
		opts: dra,
		edit: func(_ []*v1.Node, pods []*v1.Pod) { pods[1].Annotations[AnnotationGPUMilli] = "0" },
		want: `pod.default/share-pod.metadata.annotations[ml-scheduler.io/gpu-milli]: Invalid value: "0": thousandths of a GPU`,
	}, {
		name: "gpu-milli above a GPU",
		opts: dra,
		edit: func(_ []*v1.Node, pods []*v1.Pod) { pods[2].Annotations[AnnotationGPUMilli] = "1001" },
		want: `pod.default/whole-pod.metadata.annotations[ml-scheduler.io/gpu-milli]: Invalid value: "1001"`,
	}, {
		name: "sharing pod asking two GPUs",
		opts: dra,
		edit: func(_ []*v1.Node, pods []*v1.Pod) {
			pods[1].Spec.Containers[0].Resources.Requests[DefaultGPUResource] = resource.MustParse("2")
		},
		want: `pod.default/share-pod.spec.containers[0].resources.requests[nvidia.com/gpu]: Invalid value: "2": a pod sharing a GPU (ml-scheduler.io/gpu-milli 460) asks one GPU`,
	}, {
		name: "sharing pod asking no GPU",
		opts: dra,
		edit: func(_ []*v1.Node, pods []*v1.Pod) {
			delete(pods[1].Spec.Containers[0].Resources.Requests, DefaultGPUResource)
		},
		want: `pod.default/share-pod.spec.containers[0].resources.requests[nvidia.com/gpu]: Invalid value: "0"`,
	}, {
		name: "sharing pod with two containers",
		opts: dra,
		edit: func(_ []*v1.Node, pods []*v1.Pod) {
			pods[1].Spec.Containers = append(pods[1].Spec.Containers, v1.Container{Name: "side"})
		},
		want: `pod.default/share-pod.spec.containers: Invalid value: 2: a sharing pod has one container`,
	}, {
		name: "sharing pod with a claim already",
		opts: dra,
		edit: func(_ []*v1.Node, pods []*v1.Pod) {
			gpudra.UseClaim(pods[1], "other")
		},
		want: `pod.default/share-pod.spec.resourceClaims: Invalid value: 1: a trace pod names no claims of its own`,
	}, {
		name: "every error is reported",
		opts: dra,
		edit: func(nodes []*v1.Node, pods []*v1.Pod) {
			nodes[2].Status.Allocatable[DefaultGPUResource] = resource.MustParse("-1")
			pods[3].Annotations[AnnotationGPUMilli] = "x"
		},
		want: `[node.gpu-1.status.allocatable[nvidia.com/gpu]: Invalid value: "-1": a node's GPUs are a whole number, 0 or more, pod.default/eight-pod.metadata.annotations[ml-scheduler.io/gpu-milli]: Invalid value: "x"`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			nodes, pods := readDRA(t, Options{})
			if tc.edit != nil {
				tc.edit(nodes, pods)
			}
			_, err := ShareGPUs(nodes, pods, tc.opts)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseGPUSharing(t *testing.T) {
	for in, want := range map[string]GPUSharing{"": GPUSharingWhole, "whole": GPUSharingWhole, "dra": GPUSharingDRA} {
		if got, err := ParseGPUSharing(in); err != nil || got != want {
			t.Errorf("ParseGPUSharing(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseGPUSharing("DRA"); err == nil {
		t.Error(`ParseGPUSharing("DRA"): no error`)
	}
}

// TestDefaultTraceDemand reads the default pod list of the trace in DRA
// mode: its whole GPU demand, sharing pods at their gpu_milli, is 6086.8 GPUs
// of the node list's 6212 (98%), on 1213 GPU nodes.
func TestDefaultTraceDemand(t *testing.T) {
	dir := filepath.Join("..", "..", "bench", "workloads", "traces", "alibaba-gpu-v2023")
	objs, err := LoadOpenB(filepath.Join(dir, "openb_node_list_all_node.csv"), filepath.Join(dir, "openb_pod_list_default.csv"),
		Options{GPUSharing: GPUSharingDRA})
	if err != nil {
		t.Fatal(err)
	}
	devices := 0
	for _, s := range objs.ResourceSlices {
		devices += len(s.Spec.Devices)
	}
	milli := int64(0)
	for _, p := range objs.Pods {
		q := p.Spec.Containers[0].Resources.Requests[DefaultGPUResource]
		milli += q.Value() * 1000
	}
	for _, c := range objs.ResourceClaims {
		milli += shareOf(c)
	}
	if got := []int{len(objs.ResourceSlices), devices, len(objs.ResourceClaims)}; !cmp.Equal(got, []int{1213, 6212, 3078}) {
		t.Errorf("GPU nodes, GPUs, sharing pods = %v, want [1213 6212 3078]", got)
	}
	if milli != 6086800 {
		t.Errorf("GPU demand = %d milli-GPUs, want 6086800 (6086.8 GPUs)", milli)
	}
}

func shareOf(c *resourceapi.ResourceClaim) int64 {
	q := c.Spec.Devices.Requests[0].Exactly.Capacity.Requests[gpudra.ShareCapacity]
	return q.MilliValue()
}
