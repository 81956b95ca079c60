package main

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestPlanInterleavesAndCounts(t *testing.T) {
	m, err := matrixFor("full")
	if err != nil {
		t.Fatal(err)
	}
	plan := m.plan(nil)
	// Per repetition: 500 and 1000 nodes: 4 + 3 profiles (bind-only once);
	// 5000 nodes: 7 + 6 (three extra profiles).
	if want := m.Reps * (7 + 7 + 13); len(plan) != want {
		t.Fatalf("plan has %d runs, want %d", len(plan), want)
	}
	first := map[int]string{}
	for _, c := range plan {
		if c.Nodes == 500 && c.Scenario == "confined" {
			if _, ok := first[c.Rep]; !ok {
				first[c.Rep] = c.Profile.Name
			}
		}
	}
	if first[0] == first[1] {
		t.Errorf("repetitions 1 and 2 start with the same profile %q: order does not rotate", first[0])
	}
}

func TestMedianRatioAndOutputs(t *testing.T) {
	m, _ := matrixFor("quick")
	r := &Results{Mode: "quick", Reps: 3}
	for rep, v := range [][2]float64{{100, 200}, {110, 200}, {90, 240}} {
		for i, p := range []string{"default", "ml10"} {
			r.Runs = append(r.Runs, Run{Scenario: "confined", Nodes: 500, Profile: p, Rep: rep, Throughput: Stats{Average: v[i]}})
		}
	}
	r.Runs = append(r.Runs, Run{Scenario: "confined", Nodes: 500, Profile: "ml10", Rep: 3, Error: "boom"})
	md, ok := r.median(m, "confined", 500, "ml10")
	if !ok || md.Throughput.Average != 200 || md.N != 3 || md.Min != 200 || md.Max != 240 {
		t.Fatalf("median = %+v, want 200 over 3 runs, range 200-240", md)
	}
	rt, ok := r.ratio(m, "confined", 500, "ml10", "default")
	if !ok || rt.Value != 2 || rt.PairedMin < 1.81 || rt.PairedMax < 2.66 {
		t.Fatalf("ratio = %+v, want 2.0 with paired range 1.82-2.67", rt)
	}
	r.summarize(m)
	table := r.markdown(m)
	for _, want := range []string{"| confined | 500 | 2000 |", "**2.00**", "Failed: rep 4 confined 500 nodes ml10: boom"} {
		if !strings.Contains(table, want) {
			t.Errorf("markdown lacks %q:\n%s", want, table)
		}
	}
	if err := xml.Unmarshal([]byte(r.svg(m)), new(struct{})); err != nil {
		t.Errorf("plot is not well-formed XML: %v", err)
	}
	if lines := strings.Count(r.benchstatInput(), "\nBenchmarkSchedulingThroughput/"); lines != 6 {
		t.Errorf("benchstat input has %d benchmark lines, want 6 (failed runs left out)", lines)
	}
}
