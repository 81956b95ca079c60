package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Profile is one scheduler configuration under test.
type Profile struct {
	Name   string // short name in tables and benchmark names
	Label  string // (a)..(d) in the terms
	Config string // scheduler config, relative to bench/
	// Constraints is the pod template's .constraints: how the policy's
	// hard rules are written into the pods for this profile.
	Constraints func(scenario string) string
	Doc         string
}

var (
	none        = func(string) string { return "none" }
	asAffinity  = func(s string) string { return s }
	profDefault = Profile{Name: "default", Label: "(a)", Config: "workloads/schedulers/default.yaml", Constraints: none,
		Doc: "default profile, same nodes and pods, no constraints"}
	profML = Profile{Name: "ml10", Label: "(b)", Config: "workloads/schedulers/ml-10.yaml", Constraints: none,
		Doc: "ml-scheduler (default plugins + MLPolicy), 10-rule policy"}
	profAffinity = Profile{Name: "affinity", Label: "(c)", Config: "workloads/schedulers/affinity.yaml", Constraints: asAffinity,
		Doc: "default profile, policy written as required nodeAffinity, MostAllocated GPU scoring"}
	profBind = Profile{Name: "bindonly", Label: "(d)", Config: "workloads/schedulers/bind-only.yaml", Constraints: none,
		Doc: "bind-only profile (PrioritySort + DefaultBinder): the harness ceiling"}
	profML1 = Profile{Name: "ml1", Label: "(b1)", Config: "workloads/schedulers/ml-1.yaml", Constraints: none,
		Doc: "ml-scheduler, 1-rule policy"}
	profMLEvent = Profile{Name: "ml10event", Label: "(b')", Config: "workloads/schedulers/ml-10-event.yaml", Constraints: none,
		Doc: "ml10 with MLPolicy's placementEvents on (a PlacedByRule Event per pod; off by default)"}
	profML100 = Profile{Name: "ml100", Label: "(b100)", Config: "workloads/schedulers/ml-100.yaml", Constraints: none,
		Doc: "ml-scheduler, 100-rule policy"}
)

// Scenarios: which pods are measured.
var scenarioDoc = map[string]string{
	"confined":   "pods of namespace research, confined by the policy to pool-0 (10% of the nodes)",
	"unconfined": "pods of namespace shared: no pool (they may not use research's pool-0); CPU-only pods kept off GPU nodes",
}

// Cell is one benchmark run.
type Cell struct {
	Scenario string
	Nodes    int
	Pods     int
	Profile  Profile
	Rep      int
}

func (c Cell) Name() string {
	return fmt.Sprintf("scenario=%s/nodes=%d/profile=%s", c.Scenario, c.Nodes, c.Profile.Name)
}

// Matrix is what a mode measures.
type Matrix struct {
	// Gang: the gang workload (gang.go): PodGroups and their pods, pod groups/s.
	Gang bool
	// DRA: the DRA workload (dra.go): GPUs as ResourceSlice devices.
	DRA       bool
	Reps      int
	Sizes     []int
	Pods      map[int]int
	Scenarios []string
	// Profiles run at every size and scenario, interleaved.
	Profiles []Profile
	// Extra profiles run only at ExtraSize (the rule-count sweep).
	Extra     []Profile
	ExtraSize int
	// ScenarioFree profiles do the same work whatever the scenario (they read
	// no constraint): run once per size, in the first scenario, and shown in both.
	ScenarioFree map[string]bool
}

func matrixFor(mode string) (*Matrix, error) {
	switch mode {
	case "quick":
		return &Matrix{Reps: 1, Sizes: []int{500}, Pods: map[int]int{500: 2000},
			Scenarios:    []string{"confined", "unconfined"},
			Profiles:     []Profile{profDefault, profML, profAffinity, profBind},
			ScenarioFree: map[string]bool{profBind.Name: true}}, nil
	case "full":
		return &Matrix{Reps: 5, Sizes: []int{500, 1000, 5000}, Pods: map[int]int{500: 2000, 1000: 2000, 5000: 2000},
			Scenarios: []string{"confined", "unconfined"},
			Profiles:  []Profile{profDefault, profML, profAffinity, profBind},
			Extra:     []Profile{profML1, profML100, profMLEvent}, ExtraSize: 5000,
			ScenarioFree: map[string]bool{profBind.Name: true}}, nil
	case "events":
		// What the per-pod placement Event (MLPolicy PostBind) costs.
		return &Matrix{Reps: 3, Sizes: []int{5000}, Pods: map[int]int{5000: 2000},
			Scenarios: []string{"unconfined", "confined"},
			Profiles:  []Profile{profDefault, profML, profMLEvent}}, nil
	case "gang":
		return gangMatrix(), nil
	case "dra":
		return draMatrix(), nil
	}
	return nil, fmt.Errorf("unknown mode %q (quick, full, events, gang or dra)", mode)
}

// plan orders the runs: repetitions outermost, then sizes, then scenarios;
// within those the profiles rotate from one repetition to the next so no
// profile always runs first (or last) after a size change.
func (m *Matrix) plan(only *regexp.Regexp) []Cell {
	var cells []Cell
	for rep := 0; rep < m.Reps; rep++ {
		for _, n := range m.Sizes {
			for si, sc := range m.Scenarios {
				profs := append([]Profile{}, m.Profiles...)
				if n == m.ExtraSize {
					profs = append(profs, m.Extra...)
				}
				var row []Profile
				for _, p := range profs {
					if m.ScenarioFree[p.Name] && si > 0 {
						continue
					}
					row = append(row, p)
				}
				k := (rep + si) % len(row)
				row = append(row[k:], row[:k]...)
				for _, p := range row {
					c := Cell{Scenario: sc, Nodes: n, Pods: m.Pods[n], Profile: p, Rep: rep}
					if only == nil || only.MatchString(c.Name()) {
						cells = append(cells, c)
					}
				}
			}
		}
	}
	return cells
}

// allProfiles lists the profiles of the matrix in display order.
func (m *Matrix) allProfiles() []Profile {
	return append(append([]Profile{}, m.Profiles...), m.Extra...)
}

// override replaces the node counts and pod count of the mode (debugging).
func (m *Matrix) override(sizes string, pods int) error {
	if sizes != "" {
		m.Sizes = nil
		for _, f := range strings.Split(sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("-sizes: %w", err)
			}
			m.Sizes = append(m.Sizes, n)
			if _, ok := m.Pods[n]; !ok {
				m.Pods[n] = 2000
				if m.Gang {
					m.Pods[n] = 2100
				}
			}
		}
	}
	if pods > 0 && m.Gang && pods%gangPodsPerCycle != 0 {
		return fmt.Errorf("-pods: a gang run's pods fill groups of 4..8 in cycles of %d pods; %d is not a multiple", gangPodsPerCycle, pods)
	}
	if pods > 0 {
		for n := range m.Pods {
			m.Pods[n] = pods
		}
		for _, n := range m.Sizes {
			m.Pods[n] = pods
		}
	}
	return nil
}
