package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// scenario is one fault, injected once about a fifth of the first wave of
// pods is bound.
type scenario struct {
	name, short string
	// first is the share of the backlog created before the fault; the rest
	// is created in waves by the fault (pods arriving while it lasts).
	first float64
	waves int
	fault func(ctx context.Context, t *testing.T, r *run) error
}

// run is one scenario in progress.
type run struct {
	w     *world
	ps    *policies
	rec   *recorder
	rs    *replicas
	waves [][]unit // waves[0] is created before the fault
	fig   *figures
}

// figures are what a scenario measured, logged in its PROVED line and
// written to $ML_SCHEDULER_FAULTS_OUT.
type figures struct {
	Scenario      string         `json:"scenario"`
	Cluster       string         `json:"cluster"`
	Pods          int            `json:"pods"`
	Nodes         int            `json:"nodes"`
	CreateSeconds float64        `json:"backlogCreateSeconds"`
	AllBoundSecs  float64        `json:"allBoundSeconds"` // from the first create
	WallSeconds   float64        `json:"wallSeconds"`
	Recoveries    []recovery     `json:"recoveries"`
	ReplicaExits  []exitRecord   `json:"replicaExits"`
	PodsPerHash   map[string]int `json:"podsPerPolicyHash"`
	FinalHash     string         `json:"finalPolicyHash"`
	PolicyWrites  int            `json:"policyWrites"`
	InvalidWrites int            `json:"invalidPolicyWrites"`
	Proved        []string       `json:"proved"`
	Failures      []string       `json:"failures,omitempty"`
}

// recovery is one handover or recovery, in milliseconds from the fault
// (a kill) or from its end (a restart, a thaw).
type recovery struct {
	What string `json:"what"`
	// FaultMs is how long the fault itself lasted (down or frozen).
	FaultMs int64 `json:"faultMs,omitempty"`
	// LeaseMs: to a new holder of the leader-election Lease.
	LeaseMs int64 `json:"leaseMs,omitempty"`
	// BindMs: to the first pod bound after it.
	BindMs int64 `json:"bindMs,omitempty"`
	// InForceMs (policy churn): from the last write to the ConfigMap
	// reporting that policy in force.
	InForceMs int64 `json:"inForceMs,omitempty"`
}

var (
	outMu   sync.Mutex
	outFigs []*figures
)

func TestFaults(t *testing.T) {
	if env.cp == nil {
		t.Skipf("set %s=1 (make test-faults) to run the fault suite on a real control plane", FaultsEnv)
	}
	for _, sc := range []scenario{
		{name: "leader-kill-5x", short: "kill", first: 0.5, waves: 5, fault: leaderKill},
		{name: "apiserver-restart", short: "apirst", first: 1, fault: apiserverRestart},
		{name: "etcd-restart", short: "etcdrst", first: 1, fault: etcdRestart},
		{name: "apiserver-sigstop-20s", short: "freeze", first: 1, fault: apiserverFreeze},
		{name: "policy-churn", short: "churn", first: 0.5, waves: 10, fault: policyChurn},
	} {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}

func runScenario(t *testing.T, sc scenario) {
	begin := time.Now()
	// Generous: 2 shared cores, 3 replicas, a control plane that restarts.
	timeout := 10*time.Minute + time.Duration(env.pods)*200*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	w := newWorld(sc.short, env.pods)
	r := &run{w: w, ps: newPolicies(w), waves: w.split(sc.first, sc.waves)}
	r.fig = &figures{Scenario: sc.name, Cluster: w.counts(), Pods: len(w.pods()), Nodes: len(w.nodes)}
	t.Logf("%s: %s, %d waves", sc.name, r.fig.Cluster, len(r.waves))
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer ccancel()
		w.cleanup(cctx)
	})
	if err := w.setup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ps.apply(ctx, poolA); err != nil {
		t.Fatal(err)
	}
	var err error
	if r.rec, err = startRecorder(ctx, env.cp.Client(), w.short); err != nil {
		t.Fatal(err)
	}
	defer r.rec.stop()
	if r.rs, err = startReplicas(ctx, w, t.Logf); err != nil {
		t.Fatal(err)
	}
	defer r.rs.stop()
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range r.rs.processes() {
				t.Logf("--- %s (%s) ---\n%s", p.Name, p.LogPath, p.LogTail(30))
			}
		}
	})
	if _, _, err := r.rs.waitLeader(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}

	// The fault comes while the first wave is still being created if
	// scheduling keeps up with the creates: the creates retry through it.
	created := time.Now()
	firstWave := make(chan error, 1)
	go func() {
		err := w.createUnits(ctx, r.waves[0])
		r.fig.CreateSeconds = seconds(time.Since(created))
		firstWave <- err
	}()
	first := podsIn(r.waves[0])
	if err := r.rec.waitBound(ctx, first/5, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d of %d pods bound %v after the first create, injecting the fault", sc.name, r.rec.bound(), first, time.Since(created).Round(time.Millisecond))
	if err := sc.fault(ctx, t, r); err != nil {
		t.Fatalf("%s: %v", sc.name, err)
	}
	if err := <-firstWave; err != nil {
		t.Fatal(err)
	}
	if err := r.rec.waitBound(ctx, len(w.pods()), timeout-time.Since(begin)-2*time.Minute); err != nil {
		t.Errorf("%s: %v", sc.name, err)
	}
	r.fig.AllBoundSecs = seconds(time.Since(created))

	v, hashes, err := check(ctx, w, r.ps, r.rec, r.rs)
	if err != nil {
		t.Fatal(err)
	}
	r.fig.PodsPerHash, r.fig.FinalHash = hashes, r.ps.lastValid
	r.fig.PolicyWrites, r.fig.InvalidWrites = r.ps.writes, r.ps.invalid
	r.fig.ReplicaExits = r.rs.exitLog()
	r.fig.Proved, r.fig.Failures = v.proved, v.failures
	r.fig.WallSeconds = seconds(time.Since(begin))
	defer writeFigures(t, r.fig)
	for _, f := range v.failures {
		t.Errorf("%s: %s", sc.name, f)
	}
	if t.Failed() {
		return
	}
	t.Logf("PROVED: %s: %s; fault: %s; all bound %.1fs after the first create, %d replica exits (%d deliberate); %s; wall %.1fs",
		sc.name, r.fig.Cluster, recoveries(r.fig.Recoveries), r.fig.AllBoundSecs, len(r.fig.ReplicaExits), deliberate(r.fig.ReplicaExits), v, r.fig.WallSeconds)
}

// createRest creates waves[1:], one every interval, and returns a channel
// with its error once done.
func (r *run) createRest(ctx context.Context, interval time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		for i, wave := range r.waves[1:] {
			if i > 0 {
				select {
				case <-ctx.Done():
					done <- ctx.Err()
					return
				case <-time.After(interval):
				}
			}
			if err := r.w.createUnits(ctx, wave); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

func podsIn(units []unit) int {
	n := 0
	for _, u := range units {
		n += len(u.pods)
	}
	return n
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

func ms(d time.Duration) int64 { return d.Milliseconds() }

func recoveries(rs []recovery) string {
	var parts []string
	for _, r := range rs {
		s := r.What
		if r.FaultMs > 0 {
			s += fmt.Sprintf(" lasting %dms", r.FaultMs)
		}
		if r.LeaseMs > 0 {
			s += fmt.Sprintf(", lease taken after %dms", r.LeaseMs)
		}
		if r.BindMs > 0 {
			s += fmt.Sprintf(", next binding after %dms", r.BindMs)
		}
		if r.InForceMs > 0 {
			s += fmt.Sprintf(", last valid policy in force %dms after the last write", r.InForceMs)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func deliberate(es []exitRecord) int {
	n := 0
	for _, e := range es {
		if e.Deliberate {
			n++
		}
	}
	return n
}

// writeFigures appends the scenario's figures to $ML_SCHEDULER_FAULTS_OUT
// (the whole file is rewritten: one JSON array of every scenario so far).
func writeFigures(t *testing.T, f *figures) {
	path := os.Getenv(OutEnv)
	if path == "" {
		return
	}
	outMu.Lock()
	defer outMu.Unlock()
	outFigs = append(outFigs, f)
	b, err := json.MarshalIndent(outFigs, "", "  ")
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		t.Errorf("writing %s: %v", path, err)
	}
}
