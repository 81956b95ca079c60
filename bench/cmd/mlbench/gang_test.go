package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// templateFuncs are the scheduler_perf template functions the gang
// templates use (test/integration/scheduler_perf/operations.go).
var templateFuncs = template.FuncMap{
	"AddInt": func(xs ...int) int {
		s := 0
		for _, x := range xs {
			s += x
		}
		return s
	},
	"MultiplyInt": func(xs ...int) int {
		p := 1
		for _, x := range xs {
			p *= x
		}
		return p
	},
	"DivideInt": func(a, b int) int { return a / b },
	"Mod":       func(a, b int) int { return a % b },
}

func render(t *testing.T, path string, env map[string]any, into any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New(path).Funcs(templateFuncs).Parse(string(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, env); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := yaml.UnmarshalStrict(buf.Bytes(), into); err != nil {
		t.Fatalf("%s (index %v): %v\n%s", path, env["Index"], err, buf.String())
	}
}

// The pod template fills the groups exactly: group g gets minCount(g) pods.
func TestGangTemplatesFillEveryGroup(t *testing.T) {
	const pods = 2 * gangPodsPerCycle
	groups := gangGroups(pods)
	minCount := map[string]int32{}
	for i := range groups {
		for _, topo := range []string{"rack", "none"} {
			var pg schedulingv1beta1.PodGroup
			render(t, "workloads/podgroups/gang.yaml", map[string]any{"Index": i, "topology": topo}, &pg)
			if pg.Spec.SchedulingPolicy.Gang == nil {
				t.Fatalf("group %d: no gang policy", i)
			}
			hasTopo := pg.Spec.SchedulingConstraints != nil && len(pg.Spec.SchedulingConstraints.Topology) == 1 &&
				pg.Spec.SchedulingConstraints.Topology[0].Key == "topology.kubernetes.io/rack"
			if hasTopo != (topo == "rack") {
				t.Fatalf("group %d, topology %s: constraints %+v", i, topo, pg.Spec.SchedulingConstraints)
			}
			minCount[pg.Name] = pg.Spec.SchedulingPolicy.Gang.MinCount
		}
	}
	count := map[string]int32{}
	for i := range pods {
		var pod v1.Pod
		render(t, "workloads/pods/gang-worker.yaml", map[string]any{"Index": i}, &pod)
		if pod.Spec.SchedulingGroup == nil || pod.Spec.SchedulingGroup.PodGroupName == nil {
			t.Fatalf("pod %d has no schedulingGroup", i)
		}
		g := *pod.Spec.SchedulingGroup.PodGroupName
		if pod.Spec.SchedulerName != "default-scheduler" || pod.Labels["ml-scheduler.io/job"] != g {
			t.Fatalf("pod %d: schedulerName %q, job %q, group %q", i, pod.Spec.SchedulerName, pod.Labels["ml-scheduler.io/job"], g)
		}
		count[g]++
	}
	if len(count) != groups {
		t.Fatalf("pods name %d groups, want %d", len(count), groups)
	}
	for g, n := range count {
		if minCount[g] != n || n < 4 || n > 8 {
			t.Errorf("%s: %d pods, minCount %d", g, n, minCount[g])
		}
	}
	var node v1.Node
	render(t, "workloads/nodes/gang-cluster.yaml", map[string]any{"Index": 17, "Count": 500}, &node)
	if node.Labels["topology.kubernetes.io/rack"] != "rack-1" {
		t.Errorf("node 17: labels %v", node.Labels)
	}
}

func TestGangPolicyKeepsGangsInARack(t *testing.T) {
	b, err := os.ReadFile("../../workloads/policies/policy-gang.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := policy.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rules) != 10 {
		t.Errorf("%d rules, want 10 (the profile is ml10)", len(c.Rules))
	}
	var pod v1.Pod
	render(t, "workloads/pods/gang-worker.yaml", map[string]any{"Index": 0}, &pod)
	pod.Namespace = "training"
	r := c.Match(&pod)
	if r == nil || r.Gang == nil || r.Gang.TopologyKey != "topology.kubernetes.io/rack" || !r.Gang.TopologyRequired {
		t.Fatalf("gang pod matches %+v, want a rule with gang topologyKey rack, required", r)
	}
}

func TestGangMatrixAndReport(t *testing.T) {
	m, err := matrixFor("gang")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.override("", 2000); err == nil {
		t.Error("2000 pods accepted: not a multiple of 30")
	}
	plan := m.plan(nil)
	if want := m.Reps * len(m.Sizes) * len(m.Scenarios) * 2; len(plan) != want {
		t.Fatalf("plan has %d runs, want %d", len(plan), want)
	}
	if plan[0].Profile.Name == plan[len(m.Profiles)*len(m.Scenarios)*len(m.Sizes)].Profile.Name {
		t.Errorf("repetitions 1 and 2 start with the same profile: order does not rotate")
	}
	c := Cell{Scenario: "policy", Nodes: 500, Pods: 2100, Profile: profGangML}
	cfg := gangConfig(c)
	for _, want := range []string{"GenericWorkload: true", "TopologyAwareWorkloadScheduling: true", "topology: none", "groups: 350", "ml-10-gang.yaml"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	c.Profile = profGangDefault
	if cfg := gangConfig(c); !strings.Contains(cfg, "topology: rack") {
		t.Errorf("the default profile's PodGroups must carry the rack constraint in scenario policy:\n%s", cfg)
	}

	r := &Results{Mode: "gang", Reps: 2}
	for rep, v := range [][2]float64{{120, 114}, {100, 110}} {
		for i, p := range []string{"default", "ml10"} {
			r.Runs = append(r.Runs, Run{Scenario: "rack", Nodes: 500, Pods: 2100, Groups: 350, Profile: p, Rep: rep,
				Throughput: Stats{Average: v[i]}, GroupsPerSecond: groupsPerSecond(v[i], 2100)})
		}
	}
	table := r.markdownGang(m)
	// medians: default 110 pods/s = 18.3 groups/s, ml10 112 = 18.7; ratio 1.02, paired 0.95-1.10.
	for _, want := range []string{"| rack | 500 | 350 | 2100 | 18.3 [16.7-20.0] | 18.7 [18.3-19.0] | **1.02** [0.95-1.10] |", "GenericWorkload"} {
		if !strings.Contains(table, want) {
			t.Errorf("report lacks %q:\n%s", want, table)
		}
	}
	if lines := strings.Count(r.benchstatInput(), "\nBenchmarkGangScheduling/"); lines != 4 {
		t.Errorf("benchstat input has %d gang lines, want 4", lines)
	}
	if svg := r.svg(m); !strings.Contains(svg, "pod groups/s") {
		t.Error("the gang plot is not in pod groups/s")
	}
}
