package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

func sample() []*simulator.Result {
	return []*simulator.Result{
		{
			Workload: "default", Configuration: "stock default", SchedulerName: "default-scheduler", Backend: "in-process",
			Nodes: 3, GPUNodes: 2, ClusterGPUs: 10, WallSeconds: 1.25,
			Metrics: simulator.Metrics{
				Pods: 4, PodsUnschedulable: 1, GPUsAllocated: 9, GPUsAllocatedPercent: 90,
				FirstGPUFailure:      &simulator.Failure{Arrival: 3, Pod: "default/p3", GPUs: 8, AllocatedPercent: 20, DemandPercent: 100},
				GPUPodsFittingNoNode: 1,
				GPUPods:              3, GPUPodsPlaced: 2, GPUPodsFailed: 1,
				MultiGPU: []simulator.SizeCount{{GPUs: 8, Placed: 1, Total: 2}},
				CPUPods:  1, CPUPodsPlaced: 1, CPUPodsOnGPUNodes: 1,
			},
			Curve:      []simulator.CurvePoint{{Arrived: 0, DemandPercent: 0, AllocatedPercent: 0}, {Arrived: 4, DemandPercent: 170, AllocatedPercent: 90}},
			Placements: []simulator.PodResult{{Arrival: 1, Name: "default/p1", GPUs: 1, Node: "n1"}},
		},
		{
			Workload: "default", Configuration: "ml <&> scheduler", ClusterGPUs: 10,
			Metrics: simulator.Metrics{GPUsAllocated: 10, GPUsAllocatedPercent: 100, MultiGPU: []simulator.SizeCount{}},
			Curve:   []simulator.CurvePoint{{Arrived: 0}, {Arrived: 4, DemandPercent: 170, AllocatedPercent: 100}},
		},
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, sample()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "WORKLOAD") {
		t.Fatalf("table:\n%s", b.String())
	}
	for _, want := range []string{"9/10 (90.0%)", "#3 at 20.0%", "2/1", "8-GPU 1/2", "1/1", "1.2s"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %q", lines[1], want)
		}
	}
	if !strings.Contains(lines[2], "none") {
		t.Errorf("row without failure: %q", lines[2])
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, sample()); err != nil {
		t.Fatal(err)
	}
	want := "| workload | configuration | GPUs allocated | first GPU failure | first failure a node could hold | GPU pods placed/failed | multi-GPU placed | CPU pods placed | CPU pods on GPU nodes | wall |\n" +
		"|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n" +
		"| default | stock default | 9/10 (90.0%) | #3 at 20.0% | none (1 fit no node) | 2/1 | 8-GPU 1/2 | 1/1 | 1 | 1.2s |\n" +
		"| default | ml <&> scheduler | 10/10 (100.0%) | none | none | 0/0 | - | 0/0 | 0 | 0.0s |\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("markdown (-want +got):\n%s", diff)
	}
}

func TestJSON(t *testing.T) {
	for _, perPod := range []bool{false, true} {
		var b bytes.Buffer
		if err := JSON(&b, sample(), perPod); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Results []map[string]json.RawMessage `json:"results"`
		}
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		r := doc.Results[0]
		for _, k := range []string{"workload", "configuration", "schedulerName", "backend", "nodes", "gpuNodes", "clusterGPUs",
			"pods", "podsUnschedulableAtFirstAttempt", "gpusAllocated", "gpusAllocatedPercent", "firstGPUFailure",
			"gpuPods", "gpuPodsPlaced", "gpuPodsFailed", "multiGPU", "cpuPods", "cpuPodsPlaced", "cpuPodsOnGPUNodes", "curve", "wallSeconds"} {
			if _, ok := r[k]; !ok {
				t.Errorf("perPod=%v: field %q missing", perPod, k)
			}
		}
		if _, ok := r["podResults"]; ok {
			t.Errorf("unexpected field podResults")
		}
		// "pods" is the count; per-pod results are under "placements" only if asked.
		_, has := r["placements"]
		if has != perPod {
			t.Errorf("perPod=%v: placements present = %v", perPod, has)
		}
	}
	// The caller's results keep their pods.
	if s := sample(); len(s[0].Placements) != 1 {
		t.Fatal("sample changed")
	}
}

func TestSVG(t *testing.T) {
	var b bytes.Buffer
	if err := SVG(&b, "a <title>", sample()); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, one polyline per result plus the ideal.
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	polylines, circles := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, b.String())
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "polyline":
				polylines++
			case "circle":
				circles++
			}
		}
	}
	if polylines != 3 {
		t.Errorf("%d polylines, want 3", polylines)
	}
	if circles != 2 { // one failure marker, one in the legend
		t.Errorf("%d circles, want 2", circles)
	}
	for _, want := range []string{"arrived GPU demand (% of cluster GPUs)", "GPUs allocated (% of cluster GPUs)", "ml &lt;&amp;&gt; scheduler", "a &lt;title&gt;"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

// With pod groups the table gains the domain and gang columns; a result
// without them shows "-".
func TestMarkdownGangs(t *testing.T) {
	results := sample()[1:]
	gangs := *results[0]
	gangs.Configuration = "gangs"
	gangs.Domains = &simulator.DomainMetrics{TopologyKey: "rack", Domains: 4, Empty: 1, PartlyUsed: 2, Full: 1, FreeGPUsInPartlyUsed: 9}
	gangs.Gangs = &simulator.GangMetrics{Gangs: 3, Placed: 2, Waiting: 1, WithinOneDomain: 1, AcrossDomains: 1,
		BySize: []simulator.GangSize{{Pods: 1, Placed: 1, Total: 1}, {Pods: 4, Placed: 1, Total: 2}}}
	noKey := gangs
	noKey.Configuration, noKey.Domains = "no key", nil
	results = append(results, &gangs, &noKey)
	var b bytes.Buffer
	if err := Markdown(&b, results); err != nil {
		t.Fatal(err)
	}
	want := "| workload | configuration | GPUs allocated | first GPU failure | first failure a node could hold | GPU pods placed/failed | multi-GPU placed | CPU pods placed | CPU pods on GPU nodes | wall | " +
		"domains empty/partly used/full | free GPUs in partly used domains | gangs placed/waiting | gangs in one domain/across | gangs placed by size |\n" +
		"|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" +
		"| default | ml <&> scheduler | 10/10 (100.0%) | none | none | 0/0 | - | 0/0 | 0 | 0.0s | - | - | - | - | - |\n" +
		"| default | gangs | 10/10 (100.0%) | none | none | 0/0 | - | 0/0 | 0 | 0.0s | 1/2/1 | 9 | 2/1 | 1/1 | 1-pod 1/1, 4-pod 1/2 |\n" +
		"| default | no key | 10/10 (100.0%) | none | none | 0/0 | - | 0/0 | 0 | 0.0s | - | - | 2/1 | - | 1-pod 1/1, 4-pod 1/2 |\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("markdown (-want +got):\n%s", diff)
	}
	var js bytes.Buffer
	if err := JSON(&js, results, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"partlyUsed": 2`, `"withinOneDomain": 1`, `"bySize": [`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	if strings.Count(js.String(), `"topologyKey"`) != 1 {
		t.Errorf("JSON: want domains on one result only:\n%s", js.String())
	}
}

func TestRepeatsMarkdown(t *testing.T) {
	run := func(cfg string, gpus int64, failure int, eight int) *simulator.Result {
		r := &simulator.Result{Workload: "w", Configuration: cfg}
		r.GPUsAllocated = gpus
		if failure > 0 {
			r.FirstGPUFailure = &simulator.Failure{Arrival: failure}
			r.FirstPlaceableGPUFailure = &simulator.Failure{Arrival: failure}
		}
		r.MultiGPU = []simulator.SizeCount{{GPUs: 8, Placed: eight, Total: 44}}
		r.CPUPodsPlaced, r.CPUPodsOnGPUNodes = 10, 2
		return r
	}
	results := []*simulator.Result{
		run("a", 100, 7, 3), run("once", 1, 1, 1), run("a", 90, 0, 3), run("a", 95, 5, 4),
	}
	var b strings.Builder
	if err := RepeatsMarkdown(&b, results); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	// "none" (no failure) counts as later than any arrival; a single run
	// gets no row.
	want := "| w | a | 3 | 95 [90-100] | 7 [5-none] | 7 [5-none] | 3 [3-4] | 10 | 2 |\n"
	if !strings.HasSuffix(got, want) || strings.Contains(got, "| once |") {
		t.Errorf("RepeatsMarkdown:\n%s\nwant last row\n%s", got, want)
	}
}
