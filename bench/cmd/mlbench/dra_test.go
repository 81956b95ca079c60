package main

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// draFuncs adds the scheduler_perf template functions the DRA templates use.
func draFuncs() template.FuncMap {
	f := maps.Clone(templateFuncs)
	f["Int"] = func(x int) int { return x }
	return f
}

func renderDRA(t *testing.T, path string, env map[string]any, into any) {
	t.Helper()
	saved := templateFuncs
	templateFuncs = draFuncs()
	defer func() { templateFuncs = saved }()
	render(t, path, env, into)
}

// The YAML templates are pkg/gpudra's objects written out: the ResourceSlice
// of every GPU node is gpudra.NodeSlice for the model the node is labelled
// with, the DeviceClass is gpudra.DeviceClass, and every claim template's
// claim is gpudra.ShareClaim of its size.
func TestDRATemplatesAreTheDeviceModel(t *testing.T) {
	const gpuNodes = 40
	models := map[string]bool{}
	for i := range gpuNodes {
		env := map[string]any{"Index": i, "Count": gpuNodes}
		var node v1.Node
		renderDRA(t, "workloads/dra/gpu-node.yaml", env, &node)
		var slice resourceapi.ResourceSlice
		renderDRA(t, "workloads/dra/resourceslice.yaml", env, &slice)
		slice.TypeMeta = metav1.TypeMeta{} // the Go objects leave it to the client
		model := node.Labels["nvidia.com/gpu.product"]
		models[model] = true
		if want := gpudra.NodeSlice(node.Name, model, 8); !apiequality.Semantic.DeepEqual(&slice, want) {
			t.Errorf("slice of node %d is not gpudra.NodeSlice(%q, %q, 8):\n%s", i, node.Name, model, cmp.Diff(want, &slice))
		}
		if _, ok := node.Status.Allocatable[gpudra.ExtendedResource]; ok {
			t.Errorf("node %s advertises %s: with DRA-backed extended resources the DeviceClass serves it", node.Name, gpudra.ExtendedResource)
		}
	}
	if len(models) != 4 {
		t.Errorf("GPU models %v, want the 4 of gpu-cluster.yaml", models)
	}

	var class resourceapi.DeviceClass
	renderDRA(t, "workloads/dra/deviceclass.yaml", nil, &class)
	class.TypeMeta = metav1.TypeMeta{}
	if want := gpudra.DeviceClass(); !apiequality.Semantic.DeepEqual(&class, want) {
		t.Errorf("deviceclass.yaml is not gpudra.DeviceClass():\n%s", cmp.Diff(want, &class))
	}

	for i := range draShareSizes {
		var tmpl resourceapi.ResourceClaimTemplate
		renderDRA(t, "workloads/dra/claimtemplate.yaml", map[string]any{"Index": i, "Count": draShareSizes}, &tmpl)
		milli := int64(250 + 50*i)
		want := gpudra.ShareClaim("", "", milli).Spec
		if !apiequality.Semantic.DeepEqual(tmpl.Spec.Spec, want) {
			t.Errorf("claim template %d is not gpudra.ShareClaim(%dm):\n%s", i, milli, cmp.Diff(want, tmpl.Spec.Spec))
		}
		if wantName := fmt.Sprintf("share-%dm", milli); tmpl.Name != wantName {
			t.Errorf("claim template %d is named %q, want %q", i, tmpl.Name, wantName)
		}
	}
}

// The pod template's mix: 6 in 10 sharing pods naming an existing claim
// template in all containers, the rest whole-GPU pods asking nvidia.com/gpu: 1;
// scenario whole has no sharing pod.
func TestDRAPodMix(t *testing.T) {
	templates := map[string]bool{}
	for i := range draShareSizes {
		templates[fmt.Sprintf("share-%dm", 250+50*i)] = true
	}
	for _, tc := range []struct {
		pods      string
		wantShare int
	}{{"mix", 60}, {"whole", 0}} {
		t.Run(tc.pods, func(t *testing.T) {
			share, used := 0, map[string]bool{}
			for i := range 100 {
				var pod v1.Pod
				renderDRA(t, "workloads/dra/pod.yaml", map[string]any{"Index": i, "Count": 100, "pods": tc.pods}, &pod)
				c := pod.Spec.Containers[0]
				gpus := c.Resources.Requests[v1.ResourceName(gpudra.ExtendedResource)]
				switch {
				case len(pod.Spec.ResourceClaims) == 1:
					share++
					rc := pod.Spec.ResourceClaims[0]
					if rc.Name != gpudra.ShareRequestName || rc.ResourceClaimTemplateName == nil || !templates[*rc.ResourceClaimTemplateName] {
						t.Errorf("pod %d: claim %+v does not name one of the claim templates %v", i, rc, templates)
						continue
					}
					used[*rc.ResourceClaimTemplateName] = true
					if len(c.Resources.Claims) != 1 || c.Resources.Claims[0].Name != gpudra.ShareRequestName || !gpus.IsZero() {
						t.Errorf("pod %d: a sharing pod's container must use claim %q and ask no %s: %+v", i, gpudra.ShareRequestName, gpudra.ExtendedResource, c.Resources)
					}
				case gpus.Cmp(resource.MustParse("1")) == 0:
				default:
					t.Errorf("pod %d is neither a sharing pod nor a whole-GPU pod: %+v", i, pod.Spec)
				}
			}
			if share != tc.wantShare {
				t.Errorf("%d sharing pods in 100, want %d", share, tc.wantShare)
			}
			if tc.wantShare > 0 && len(used) != draShareSizes {
				t.Errorf("sharing pods use templates %v, want all %d", used, draShareSizes)
			}
		})
	}
}

// The scheduler_perf config of a DRA cell is valid YAML, sets the gates
// and splits the nodes into GPU and CPU nodes.
func TestDRAConfig(t *testing.T) {
	c := Cell{Scenario: "mix", Nodes: 500, Pods: 2000, Profile: profDRAML}
	var cfg []map[string]any
	if err := yaml.UnmarshalStrict([]byte(draConfig(c)), &cfg); err != nil {
		t.Fatalf("config: %v\n%s", err, draConfig(c))
	}
	body := draConfig(c)
	for _, want := range []string{"DRAConsumableCapacity: true", "DynamicResourceAllocation: true", "gpuNodes: 400, cpuNodes: 100, pods: 2000", "{pods: mix}", "ml-10.yaml"} {
		if !strings.Contains(body, want) {
			t.Errorf("config lacks %q:\n%s", want, body)
		}
	}
}
