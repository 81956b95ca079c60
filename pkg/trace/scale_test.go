package trace

import (
	"strings"
	"testing"
)

func TestScale(t *testing.T) {
	o := Options{}
	nodes, err := ReadOpenBNodes(strings.NewReader("sn,cpu_milli,memory_mib,gpu,model\na,8000,1024,2,T4\nb,4000,1024,0,\n"), "nodes.csv", o)
	if err != nil {
		t.Fatal(err)
	}
	pods, err := ReadOpenBPods(strings.NewReader("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np1,1000,10,1,1000\np2,500,10,0,0\n"), "pods.csv", o)
	if err != nil {
		t.Fatal(err)
	}
	sn, sp, err := Scale(nodes, pods, 3)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range sn {
		names = append(names, n.Name+"/"+n.Labels["kubernetes.io/hostname"])
	}
	if got, want := strings.Join(names, " "), "a/a b/b a-x1/a-x1 b-x1/b-x1 a-x2/a-x2 b-x2/b-x2"; got != want {
		t.Errorf("nodes %s, want %s", got, want)
	}
	names = nil
	for _, p := range sp {
		names = append(names, p.Name)
	}
	if got, want := strings.Join(names, " "), "p1 p1-x1 p1-x2 p2 p2-x1 p2-x2"; got != want {
		t.Errorf("pods %s, want %s", got, want)
	}
	if sn[2].Labels["kubernetes.io/hostname"] == nodes[0].Labels["kubernetes.io/hostname"] || nodes[0].Name != "a" {
		t.Error("a copy shares the original's labels")
	}
	if !sp[1].Spec.Containers[0].Resources.Requests.Cpu().Equal(*pods[0].Spec.Containers[0].Resources.Requests.Cpu()) {
		t.Error("a pod copy asks something else")
	}
	if _, _, err := Scale(nodes, pods, 0); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Errorf("factor 0: error %v", err)
	}
	pods[0].Spec.NodeName = "a"
	if _, _, err := Scale(nodes, pods, 2); err == nil || !strings.Contains(err.Error(), "p1") {
		t.Errorf("bound pod: error %v", err)
	}
}

func TestBackgroundPods(t *testing.T) {
	nodes, err := ReadOpenBNodes(strings.NewReader("sn,cpu_milli,memory_mib,gpu,model\na,8000,1024,2,T4\nb,4000,1024,0,\n"), "nodes.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := BackgroundPods(nodes, 5, "bg")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pods {
		got = append(got, p.Spec.NodeName)
		if p.Namespace != "bg" || p.Labels["app"] == "" || p.Spec.Containers[0].Resources.Requests.Cpu().MilliValue() != 1 {
			t.Errorf("pod %s: namespace %q, cpu %v", p.Name, p.Namespace, p.Spec.Containers[0].Resources.Requests.Cpu())
		}
	}
	if strings.Join(got, " ") != "a b a b a" {
		t.Errorf("bound to %v, want round-robin a b a b a", got)
	}
	if _, err := BackgroundPods(nil, 1, "bg"); err == nil {
		t.Error("pods and no nodes: no error")
	}
}
