package trace

import (
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// maxMiB keeps memory in bytes within an int64.
const maxMiB = 1 << 40

// Columns of the openb node CSV (model may be left out: all nodes without GPU model).
var nodeColumns = columnSet{
	required: []string{"sn", "cpu_milli", "memory_mib", "gpu"},
	optional: []string{"model"},
}

// Columns of the openb pod CSV. Only the first five are required:
// openb_pod_list_multigpu20.csv has just those.
var podColumns = columnSet{
	required: []string{"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"},
	optional: []string{"gpu_spec", "qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time"},
}

// LoadOpenBNodes reads an openb node CSV file (ReadOpenBNodes).
func LoadOpenBNodes(path string, o Options) ([]*v1.Node, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadOpenBNodes(f, path, o)
}

// LoadOpenBPods reads an openb pod CSV file (ReadOpenBPods).
func LoadOpenBPods(path string, o Options) ([]*v1.Pod, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadOpenBPods(f, path, o)
}

// ReadOpenBNodes reads the openb node CSV (header sn,cpu_milli,memory_mib,gpu,model)
// into Ready nodes with allocatable cpu, memory, pods (Options.MaxPods) and,
// on GPU nodes, the GPU resource and the model label (model values unchanged;
// empty or "nan" on CPU-only nodes). file names the input in errors.
func ReadOpenBNodes(r io.Reader, file string, o Options) ([]*v1.Node, error) {
	o = o.withDefaults()
	t, err := newTable(r, file, nodeColumns)
	if err != nil {
		return nil, err
	}
	var nodes []*v1.Node
	err = t.rows("sn", "node", func(name string) error {
		cpu, err := t.int("cpu_milli")
		if err != nil {
			return err
		}
		mem, err := t.int("memory_mib")
		if err != nil {
			return err
		}
		if mem > maxMiB {
			return t.errorf("memory_mib", "%d is too large", mem)
		}
		gpus, err := t.int("gpu")
		if err != nil {
			return err
		}
		model := strings.TrimSpace(t.get("model"))
		if strings.EqualFold(model, "nan") {
			model = ""
		}
		if model != "" {
			if errs := validation.IsValidLabelValue(model); len(errs) > 0 {
				return t.errorf("model", "%q is not a valid label value: %s", model, strings.Join(errs, "; "))
			}
		}
		nodes = append(nodes, openBNode(name, cpu, mem, gpus, model, o))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, &Error{File: file, Reason: "no nodes"}
	}
	return nodes, nil
}

func openBNode(name string, cpuMilli, memMiB, gpus int64, model string, o Options) *v1.Node {
	res := v1.ResourceList{
		v1.ResourceCPU:    *resource.NewMilliQuantity(cpuMilli, resource.DecimalSI),
		v1.ResourceMemory: *resource.NewQuantity(memMiB*1024*1024, resource.BinarySI),
		v1.ResourcePods:   *resource.NewQuantity(o.MaxPods, resource.DecimalSI),
	}
	labels := map[string]string{v1.LabelHostname: name}
	if gpus > 0 {
		res[o.GPUResource] = *resource.NewQuantity(gpus, resource.DecimalSI)
		if model != "" {
			labels[o.GPUModelLabel] = model
		}
	}
	return &v1.Node{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status: v1.NodeStatus{
			Capacity:    res,
			Allocatable: res.DeepCopy(),
			Phase:       v1.NodeRunning,
			Conditions: []v1.NodeCondition{{
				Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady",
				Message: "node of a replayed trace",
			}},
		},
	}
}

// ReadOpenBPods reads the openb pod CSV (header
// name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time])
// into pods in file order, which is arrival order. A pod asks cpu_milli,
// memory_mib and num_gpu whole GPUs; gpu_milli is kept in the
// AnnotationGPUMilli annotation (a GPU-sharing pod, gpu_milli < 1000, asks
// one whole GPU). gpu_spec "A|B" (empty or "nan": any model) becomes a required nodeAffinity: the GPU
// model label In [A, B]. creation_time (seconds) sets creationTimestamp
// from TraceEpoch. file names the input in errors.
func ReadOpenBPods(r io.Reader, file string, o Options) ([]*v1.Pod, error) {
	o = o.withDefaults()
	t, err := newTable(r, file, podColumns)
	if err != nil {
		return nil, err
	}
	var pods []*v1.Pod
	err = t.rows("name", "pod", func(name string) error {
		var row podRow
		for _, f := range []struct {
			col string
			v   *int64
		}{{"cpu_milli", &row.cpuMilli}, {"memory_mib", &row.memMiB}, {"num_gpu", &row.gpus}, {"gpu_milli", &row.gpuMilli}} {
			var err error
			if *f.v, err = t.int(f.col); err != nil {
				return err
			}
		}
		switch {
		case row.memMiB > maxMiB:
			return t.errorf("memory_mib", "%d is too large", row.memMiB)
		case row.gpus == 0 && row.gpuMilli != 0:
			return t.errorf("gpu_milli", "%d with num_gpu 0: a pod without GPUs has gpu_milli 0", row.gpuMilli)
		case row.gpus > 0 && (row.gpuMilli <= 0 || row.gpuMilli > 1000):
			return t.errorf("gpu_milli", "%d out of range: with num_gpu %d it is 1..1000 (thousandths of a GPU)", row.gpuMilli, row.gpus)
		case row.gpus > 1 && row.gpuMilli != 1000:
			return t.errorf("gpu_milli", "%d with num_gpu %d: only a one-GPU pod may share a GPU (gpu_milli < 1000)", row.gpuMilli, row.gpus)
		}
		spec := strings.TrimSpace(t.get("gpu_spec"))
		if strings.EqualFold(spec, "nan") { // how pandas writes "no constraint"
			spec = ""
		}
		if spec != "" {
			if row.gpus == 0 {
				return t.errorf("gpu_spec", "%q on a pod with num_gpu 0", spec)
			}
			for _, m := range strings.Split(spec, "|") {
				m = strings.TrimSpace(m)
				if m == "" {
					return t.errorf("gpu_spec", "%q has an empty model", spec)
				}
				if errs := validation.IsValidLabelValue(m); len(errs) > 0 {
					return t.errorf("gpu_spec", "model %q is not a valid label value: %s", m, strings.Join(errs, "; "))
				}
				if !slices.Contains(row.models, m) {
					row.models = append(row.models, m)
				}
			}
		}
		for _, col := range []string{"creation_time", "deletion_time", "scheduled_time"} {
			if !t.has(col) || strings.TrimSpace(t.get(col)) == "" {
				continue
			}
			v, err := t.int(col)
			if err != nil {
				return err
			}
			if col == "creation_time" {
				row.created = v
			}
		}
		row.qos = strings.TrimSpace(t.get("qos"))
		pods = append(pods, row.pod(name, o))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(pods) == 0 {
		return nil, &Error{File: file, Reason: "no pods"}
	}
	return pods, nil
}

type podRow struct {
	cpuMilli, memMiB, gpus, gpuMilli, created int64
	models                                    []string
	qos                                       string
}

func (r podRow) pod(name string, o Options) *v1.Pod {
	req := v1.ResourceList{
		v1.ResourceCPU:    *resource.NewMilliQuantity(r.cpuMilli, resource.DecimalSI),
		v1.ResourceMemory: *resource.NewQuantity(r.memMiB*1024*1024, resource.BinarySI),
	}
	var limits v1.ResourceList
	annotations := map[string]string{}
	if r.gpus > 0 {
		q := *resource.NewQuantity(r.gpus, resource.DecimalSI)
		req[o.GPUResource] = q
		limits = v1.ResourceList{o.GPUResource: q.DeepCopy()}
		annotations[AnnotationGPUMilli] = strconv.FormatInt(r.gpuMilli, 10)
	}
	if r.qos != "" {
		annotations[AnnotationTraceQoS] = r.qos
	}
	if len(annotations) == 0 {
		annotations = nil
	}
	p := &v1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: o.Namespace, Annotations: annotations,
			CreationTimestamp: metav1.NewTime(TraceEpoch.Add(time.Duration(r.created) * time.Second)),
		},
		Spec: v1.PodSpec{
			SchedulerName: o.SchedulerName,
			Containers: []v1.Container{{
				Name: "main", Image: PauseImage,
				Resources: v1.ResourceRequirements{Requests: req, Limits: limits},
			}},
		},
	}
	if len(r.models) > 0 {
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
					Key: o.GPUModelLabel, Operator: v1.NodeSelectorOpIn, Values: r.models,
				}}}},
			},
		}}
	}
	return p
}
