package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/pprof/profile"
)

// attributions are the CPU-profile categories `mlbench -attribute` reports:
// a sample counts for a category when any of its frames matches.
var attributions = []struct{ name, match string }{
	{"scheduler (k8s.io/kubernetes/pkg/scheduler or ours)", "k8s.io/kubernetes/pkg/scheduler|github.com/ml-scheduler/ml-scheduler/pkg/"},
	{"  ours (github.com/ml-scheduler/ml-scheduler/pkg)", "github.com/ml-scheduler/ml-scheduler/pkg/"},
	{"    MLPolicy.PreFilter", "mlpolicy.(*MLPolicy).PreFilter"},
	{"    MLPolicy.Filter", "mlpolicy.(*MLPolicy).Filter"},
	{"    MLPolicy.PreScore+Score", "mlpolicy.(*MLPolicy).PreScore|mlpolicy.(*MLPolicy).Score"},
	{"    MLPolicy.SignPod", "mlpolicy.(*MLPolicy).SignPod"},
	{"    MLPolicy.PostBind (Event)", "mlpolicy.(*MLPolicy).PostBind"},
	{"  filters (RunFilterPluginsWithNominatedPods)", "RunFilterPluginsWithNominatedPods"},
	{"  scores (RunScorePlugins)", "RunScorePlugins"},
	{"  PreFilterResult.Merge (framework clones the set)", "(*PreFilterResult).Merge"},
	{"  binding cycle", "(*Scheduler).runBindingCycle"},
	{"event sending, client side (client-go/tools/events)", "k8s.io/client-go/tools/events."},
	{"kube-apiserver request handling", "k8s.io/apiserver/pkg/endpoints"},
	{"GC background workers", "runtime.gcBgMarkWorker"},
}

// attribute prints, for each CPU profile, the share of samples per category.
func attribute(paths []string) error {
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		p, err := profile.Parse(f)
		f.Close()
		if err != nil {
			return err
		}
		vi := len(p.SampleType) - 1
		var total int64
		sums := make([]int64, len(attributions))
		for _, s := range p.Sample {
			v := s.Value[vi]
			total += v
			for i, a := range attributions {
				if sampleMatches(s, a.match) {
					sums[i] += v
				}
			}
		}
		fmt.Printf("%s: %.2f s CPU over %.2f s\n", path, float64(total)/1e9, float64(p.DurationNanos)/1e9)
		for i, a := range attributions {
			fmt.Printf("  %-55s %6.2f s %5.1f%%\n", a.name, float64(sums[i])/1e9, 100*float64(sums[i])/float64(max(total, 1)))
		}
	}
	return nil
}

func sampleMatches(s *profile.Sample, match string) bool {
	alts := strings.Split(match, "|")
	for _, loc := range s.Location {
		for _, ln := range loc.Line {
			if ln.Function == nil {
				continue
			}
			for _, m := range alts {
				if strings.Contains(ln.Function.Name, m) {
					return true
				}
			}
		}
	}
	return false
}

// writeBenchstat runs benchstat (golang.org/x/perf/cmd/benchstat), if it is
// installed, over bench.txt: the four profiles side by side, then every
// profile at the largest size. Without benchstat it says how to get it.
func writeBenchstat(dir string, m *Matrix) string {
	bin, err := exec.LookPath("benchstat")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "benchstat")
		if _, err := os.Stat(bin); err != nil {
			return "benchstat not found: go install golang.org/x/perf/cmd/benchstat@latest, then benchstat -col /profile " + filepath.Join(dir, "bench.txt")
		}
	}
	in := filepath.Join(dir, "bench.txt")
	var names []string
	for _, p := range m.Profiles {
		names = append(names, p.Name)
	}
	var out []byte
	a, _ := exec.Command(bin, "-col", "/profile", "-filter", "/profile:("+strings.Join(names, " OR ")+")", in).CombinedOutput()
	out = append(out, a...)
	if m.ExtraSize > 0 {
		b, _ := exec.Command(bin, "-col", "/profile", "-filter", fmt.Sprintf("/nodes:%d", m.ExtraSize), in).CombinedOutput()
		out = append(append(out, "\n\n"...), b...)
	}
	if err := os.WriteFile(filepath.Join(dir, "benchstat.txt"), out, 0o644); err != nil {
		return err.Error()
	}
	return "benchstat output in " + filepath.Join(dir, "benchstat.txt")
}
