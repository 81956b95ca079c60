package trace

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestReadOpenBNodes(t *testing.T) {
	in := `sn,cpu_milli,memory_mib,gpu,model
openb-node-0000,32000,262144,0,
openb-node-0001,64000,262144,2,P100
openb-node-0002,96000,393216,0,nan
`
	nodes, err := ReadOpenBNodes(strings.NewReader(in), "nodes.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 3 {
		t.Fatalf("got %d nodes, want 3", len(nodes))
	}
	gpu := nodes[1]
	if got := gpu.Labels[DefaultGPUModelLabel]; got != "P100" {
		t.Errorf("model label = %q, want P100", got)
	}
	if got := gpu.Labels[v1.LabelHostname]; got != "openb-node-0001" {
		t.Errorf("hostname label = %q", got)
	}
	want := v1.ResourceList{
		v1.ResourceCPU:     resource.MustParse("64"),
		v1.ResourceMemory:  resource.MustParse("256Gi"),
		v1.ResourcePods:    resource.MustParse("256"),
		DefaultGPUResource: resource.MustParse("2"),
	}
	for name, q := range want {
		if got := gpu.Status.Allocatable[name]; got.Cmp(q) != 0 {
			t.Errorf("allocatable %s = %s, want %s", name, got.String(), q.String())
		}
	}
	if len(gpu.Status.Conditions) != 1 || gpu.Status.Conditions[0].Type != v1.NodeReady || gpu.Status.Conditions[0].Status != v1.ConditionTrue {
		t.Errorf("conditions = %v, want Ready", gpu.Status.Conditions)
	}
	for _, n := range []*v1.Node{nodes[0], nodes[2]} {
		if _, ok := n.Labels[DefaultGPUModelLabel]; ok {
			t.Errorf("CPU node %s has a model label", n.Name)
		}
		if _, ok := n.Status.Allocatable[DefaultGPUResource]; ok {
			t.Errorf("CPU node %s has GPUs", n.Name)
		}
	}

	// Options change the label and resource names.
	nodes, err = ReadOpenBNodes(strings.NewReader(in), "nodes.csv", Options{GPUModelLabel: "gpu-model", GPUResource: "amd.com/gpu", MaxPods: 10})
	if err != nil {
		t.Fatal(err)
	}
	if nodes[1].Labels["gpu-model"] != "P100" || nodes[1].Status.Allocatable.Name("amd.com/gpu", resource.DecimalSI).Value() != 2 ||
		nodes[1].Status.Allocatable.Pods().Value() != 10 {
		t.Errorf("options not applied: %v %v", nodes[1].Labels, nodes[1].Status.Allocatable)
	}
}

func TestReadOpenBPods(t *testing.T) {
	in := `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
openb-pod-0001,6000,12288,1,460,,LS,Running,427061,12902960,427061
openb-pod-0000,12000,16384,1,1000,V100M16|V100M32|V100M32,LS,Running,0,12537496,0
openb-pod-0002,4000,0,0,0,nan,BE,Failed,500000,,
openb-pod-0003,32000,65536,8,1000,,BE,Pending,600000,,
`
	pods, err := ReadOpenBPods(strings.NewReader(in), "pods.csv", Options{SchedulerName: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"openb-pod-0001", "openb-pod-0000", "openb-pod-0002", "openb-pod-0003"}, names); diff != "" {
		t.Errorf("file order not kept (-want +got):\n%s", diff)
	}
	share := pods[0]
	req := share.Spec.Containers[0].Resources.Requests
	if req.Cpu().MilliValue() != 6000 || req.Memory().Value() != 12288<<20 || req.Name(DefaultGPUResource, resource.DecimalSI).Value() != 1 {
		t.Errorf("sharing pod requests = %v, want 6 CPUs, 12Gi, one whole GPU", req)
	}
	if l := share.Spec.Containers[0].Resources.Limits; l.Name(DefaultGPUResource, resource.DecimalSI).Value() != 1 {
		t.Errorf("GPU limit = %v, want 1", l)
	}
	if share.Annotations[AnnotationGPUMilli] != "460" || share.Annotations[AnnotationTraceQoS] != "LS" {
		t.Errorf("annotations = %v", share.Annotations)
	}
	if share.Namespace != DefaultNamespace || share.Spec.SchedulerName != "sim" {
		t.Errorf("namespace %q schedulerName %q", share.Namespace, share.Spec.SchedulerName)
	}
	if got := share.CreationTimestamp.Sub(TraceEpoch).Seconds(); got != 427061 {
		t.Errorf("creationTimestamp = epoch + %vs, want 427061", got)
	}
	if share.Spec.Affinity != nil {
		t.Errorf("pod without gpu_spec has affinity %v", share.Spec.Affinity)
	}
	aff := pods[1].Spec.Affinity
	if aff == nil || aff.NodeAffinity == nil || aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		t.Fatalf("gpu_spec pod has no required node affinity: %v", aff)
	}
	wantTerms := []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
		Key: DefaultGPUModelLabel, Operator: v1.NodeSelectorOpIn, Values: []string{"V100M16", "V100M32"},
	}}}}
	if diff := cmp.Diff(wantTerms, aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms); diff != "" {
		t.Errorf("affinity (-want +got):\n%s", diff)
	}
	cpu := pods[2]
	if _, ok := cpu.Spec.Containers[0].Resources.Requests[DefaultGPUResource]; ok {
		t.Errorf("CPU pod asks a GPU")
	}
	if _, ok := cpu.Annotations[AnnotationGPUMilli]; ok {
		t.Errorf("CPU pod has a gpu-milli annotation")
	}
	if pods[3].Spec.Containers[0].Resources.Requests.Name(DefaultGPUResource, resource.DecimalSI).Value() != 8 {
		t.Errorf("8-GPU pod: %v", pods[3].Spec.Containers[0].Resources.Requests)
	}

	// The multigpu20 file has only the first five columns.
	short := "name,cpu_milli,memory_mib,num_gpu,gpu_milli\nopenb-pod-0000,12000,16384,2,1000\n"
	if pods, err = ReadOpenBPods(strings.NewReader(short), "short.csv", Options{}); err != nil || len(pods) != 1 {
		t.Fatalf("short header: %v, %d pods", err, len(pods))
	}
}

func TestOpenBErrors(t *testing.T) {
	const podHeader = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"
	const nodeHeader = "sn,cpu_milli,memory_mib,gpu,model\n"
	tests := []struct {
		name  string
		nodes bool
		in    string
		want  string
	}{
		{"empty", false, "", "pods.csv:1: empty file: want a header with columns name,cpu_milli,memory_mib,num_gpu,gpu_milli"},
		{"unknown column", false, "name,cpu,memory_mib,num_gpu,gpu_milli\n", `pods.csv:1: column 2 (cpu): unknown column "cpu": the header has name,cpu_milli,memory_mib,num_gpu,gpu_milli and optionally gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time`},
		{"missing column", false, "name,cpu_milli,memory_mib,gpu_milli\n", "pods.csv:1: header lacks column(s) num_gpu: want name,cpu_milli,memory_mib,num_gpu,gpu_milli"},
		{"repeated column", false, "name,cpu_milli,memory_mib,num_gpu,gpu_milli,name\n", `pods.csv:1: column 6 (name): column "name" repeats column 1`},
		{"no rows", false, podHeader, "pods.csv: no pods"},
		{"non-numeric", false, podHeader + "p0,1000,10,0,0,\np1,2k,10,0,0,\n", `pods.csv:3: column 2 (cpu_milli): "2k" is not an integer`},
		{"negative", false, podHeader + "p0,1000,-10,0,0,\n", "pods.csv:2: column 3 (memory_mib): -10 is negative"},
		{"empty number", false, podHeader + "p0,,10,0,0,\n", "pods.csv:2: column 2 (cpu_milli): empty: want a non-negative integer"},
		{"gpu_milli zero", false, podHeader + "p0,1000,10,1,0,\n", "pods.csv:2: column 5 (gpu_milli): 0 out of range: with num_gpu 1 it is 1..1000 (thousandths of a GPU)"},
		{"gpu_milli too big", false, podHeader + "p0,1000,10,2,1500,\n", "pods.csv:2: column 5 (gpu_milli): 1500 out of range: with num_gpu 2 it is 1..1000 (thousandths of a GPU)"},
		{"sharing multi-GPU", false, podHeader + "p0,1000,10,2,500,\n", "pods.csv:2: column 5 (gpu_milli): 500 with num_gpu 2: only a one-GPU pod may share a GPU (gpu_milli < 1000)"},
		{"gpu_milli without GPU", false, podHeader + "p0,1000,10,0,500,\n", "pods.csv:2: column 5 (gpu_milli): 500 with num_gpu 0: a pod without GPUs has gpu_milli 0"},
		{"gpu_spec without GPU", false, podHeader + "p0,1000,10,0,0,T4\n", `pods.csv:2: column 6 (gpu_spec): "T4" on a pod with num_gpu 0`},
		{"gpu_spec empty model", false, podHeader + "p0,1000,10,1,1000,T4||P100\n", `pods.csv:2: column 6 (gpu_spec): "T4||P100" has an empty model`},
		{"gpu_spec bad model", false, podHeader + "p0,1000,10,1,1000,T4|bad model\n", `pods.csv:2: column 6 (gpu_spec): model "bad model" is not a valid label value`},
		{"field count", false, podHeader + "p0,1000,10,1,1000\n", "pods.csv:2: column 1: wrong number of fields: the header has a different count"},
		{"bad name", false, podHeader + "Pod_0,1000,10,0,0,\n", `pods.csv:2: column 1 (name): "Pod_0" is not a valid object name`},
		{"duplicate pod", false, podHeader + "p0,1000,10,0,0,\np0,1000,10,0,0,\n", `pods.csv:3: column 1 (name): pod "p0" already defined on line 2`},
		{"bad creation_time", false, "name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time\np0,1000,10,0,0,soon\n", `pods.csv:2: column 6 (creation_time): "soon" is not an integer`},
		{"node header", true, "sn,cpu_milli,memory_mib,model\n", "nodes.csv:1: header lacks column(s) gpu: want sn,cpu_milli,memory_mib,gpu"},
		{"node gpu", true, nodeHeader + "n0,1000,10,two,T4\n", `nodes.csv:2: column 4 (gpu): "two" is not an integer`},
		{"node model", true, nodeHeader + "n0,1000,10,2,T 4\n", `nodes.csv:2: column 5 (model): "T 4" is not a valid label value`},
		{"node duplicate", true, nodeHeader + "n0,1000,10,2,T4\nn0,1000,10,2,T4\n", `nodes.csv:3: column 1 (sn): node "n0" already defined on line 2`},
		{"node memory", true, nodeHeader + "n0,1000,99999999999999,2,T4\n", "nodes.csv:2: column 3 (memory_mib): 99999999999999 is too large"},
		{"no nodes", true, nodeHeader, "nodes.csv: no nodes"},
		{"quote", true, nodeHeader + "n0,\"1000,10,2,T4\n", `nodes.csv:2: column 18: extraneous or missing " in quoted-field`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.nodes {
				_, err = ReadOpenBNodes(strings.NewReader(tc.in), "nodes.csv", Options{})
			} else {
				_, err = ReadOpenBPods(strings.NewReader(tc.in), "pods.csv", Options{})
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error\n  %s\nwant prefix\n  %s", err, tc.want)
			}
		})
	}
}
