package faults

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/replicastatus"
)

const replicaCount = 3

// envMu serialises starting replicas: each inherits the test's environment,
// where its identity is set for the start.
var envMu sync.Mutex

// replicas are the scenario's ml-scheduler replicas. Like a Deployment's
// pods they are restarted when they exit (killed, or exiting after losing
// the lease), each restart a new process with a log of its own; a slot
// keeps its identity (a container restart keeps the pod's name).
type replicas struct {
	w      *world
	logf   func(string, ...any)
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	slots []*slot
	exits []exitRecord
}

type slot struct {
	id    string // ML_SCHEDULER_REPLICA_ID: its status Lease
	gen   int
	cur   *cluster.Scheduler
	all   []*cluster.Scheduler
	kill  bool // the current process is being killed on purpose
	found bool // the current process's log says it acquired the lease
	off   int64
}

type exitRecord struct {
	Replica    string    `json:"replica"`
	At         time.Time `json:"at"`
	Deliberate bool      `json:"deliberate"`
	Err        string    `json:"err,omitempty"`
}

func startReplicas(ctx context.Context, w *world, logf func(string, ...any)) (*replicas, error) {
	rctx, cancel := context.WithCancel(ctx)
	rs := &replicas{w: w, logf: logf, ctx: rctx, cancel: cancel}
	for i := 0; i < replicaCount; i++ {
		s := &slot{id: fmt.Sprintf("faults-%s-r%d", w.short, i)}
		if err := rs.start(s); err != nil {
			rs.stop()
			return nil, err
		}
		rs.slots = append(rs.slots, s)
		rs.wg.Add(1)
		go rs.supervise(s)
	}
	return rs, nil
}

func (rs *replicas) start(s *slot) error {
	envMu.Lock()
	defer envMu.Unlock()
	rs.mu.Lock()
	s.gen++
	name := fmt.Sprintf("%s-g%d", s.id, s.gen)
	rs.mu.Unlock()
	old, had := os.LookupEnv(replicastatus.IdentityEnv)
	os.Setenv(replicastatus.IdentityEnv, s.id)
	defer func() {
		if had {
			os.Setenv(replicastatus.IdentityEnv, old)
		} else {
			os.Unsetenv(replicastatus.IdentityEnv)
		}
	}()
	p, err := cluster.StartScheduler(rs.ctx, env.cp, cluster.SchedulerOptions{
		Name: name, PolicyNamespace: mlNamespace, PolicyName: rs.w.policyName,
		LeaseNamespace: mlNamespace, LeaseName: rs.w.leaseName,
	})
	if err != nil {
		return err
	}
	rs.mu.Lock()
	s.cur, s.all, s.kill, s.found, s.off = p, append(s.all, p), false, false, 0
	rs.mu.Unlock()
	return nil
}

// supervise restarts the slot's process whenever it exits, a second later
// (a kubelet's first back-off is 10 s; shorter keeps the run short).
func (rs *replicas) supervise(s *slot) {
	defer rs.wg.Done()
	for {
		rs.mu.Lock()
		p := s.cur
		rs.mu.Unlock()
		select {
		case <-rs.ctx.Done():
			return
		case <-p.Done():
		}
		_, werr := p.Exited()
		rs.mu.Lock()
		e := exitRecord{Replica: p.Name, At: time.Now(), Deliberate: s.kill}
		if werr != nil {
			e.Err = werr.Error()
		}
		rs.exits = append(rs.exits, e)
		rs.mu.Unlock()
		if !e.Deliberate {
			rs.logf("replica %s exited on its own (%s); last log lines:\n%s", p.Name, e.Err, p.LogTail(5))
		}
		for {
			select {
			case <-rs.ctx.Done():
				return
			case <-time.After(time.Second):
			}
			if err := rs.start(s); err == nil {
				break
			} else if rs.ctx.Err() == nil {
				rs.logf("restarting replica %s: %v", s.id, err)
			}
		}
	}
}

// leader returns the slot whose live process's log says it acquired the
// scenario's lease (all replicas run on one host, so the holder identity's
// hostname part does not tell them apart); an exiting old leader does not
// count once its process is gone.
func (rs *replicas) leader() (int, *cluster.Scheduler, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	want := `"Successfully acquired lease" lock="` + mlNamespace + "/" + rs.w.leaseName + `"`
	var idx []int
	for i, s := range rs.slots {
		if done, _ := s.cur.Exited(); done {
			continue
		}
		if !s.found {
			// Read on from where the last look stopped.
			chunk, off := readFrom(s.cur.LogPath, s.off)
			// Keep the tail: the line may be cut at the end of this read.
			s.off = max(0, off-int64(len(want)))
			s.found = strings.Contains(chunk, want)
		}
		if s.found {
			idx = append(idx, i)
		}
	}
	if len(idx) != 1 {
		return -1, nil, fmt.Errorf("want one live replica holding lease %s, have %d", rs.w.leaseName, len(idx))
	}
	return idx[0], rs.slots[idx[0]].cur, nil
}

func (rs *replicas) waitLeader(ctx context.Context, timeout time.Duration) (int, *cluster.Scheduler, error) {
	var i int
	var p *cluster.Scheduler
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		i, p, last = rs.leader()
		return last == nil, nil
	})
	if err != nil {
		return -1, nil, fmt.Errorf("%v: %w", last, err)
	}
	return i, p, nil
}

// killLeader SIGKILLs the slot's current process; the supervisor starts it again.
func (rs *replicas) kill(i int) error {
	rs.mu.Lock()
	s := rs.slots[i]
	s.kill = true
	p := s.cur
	rs.mu.Unlock()
	return p.Kill()
}

// holder is the leader-election Lease's holder identity ("" when none).
func (rs *replicas) holder(ctx context.Context) string {
	l, err := env.client.CoordinationV1().Leases(mlNamespace).Get(ctx, rs.w.leaseName, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// ids are the slots' identities.
func (rs *replicas) ids() []string {
	var out []string
	for _, s := range rs.slots {
		out = append(out, s.id)
	}
	return out
}

// processes is every process any slot ran.
func (rs *replicas) processes() []*cluster.Scheduler {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []*cluster.Scheduler
	for _, s := range rs.slots {
		out = append(out, s.all...)
	}
	return out
}

func (rs *replicas) exitLog() []exitRecord {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]exitRecord(nil), rs.exits...)
}

// stop ends the supervisors, then the processes.
func (rs *replicas) stop() {
	rs.cancel()
	rs.wg.Wait()
	for _, p := range rs.processes() {
		p.StopGrace = 5 * time.Second
		_ = p.Stop()
	}
}

// readFrom returns the file's bytes from off on, and the offset after them.
func readFrom(path string, off int64) (string, int64) {
	f, err := os.Open(path)
	if err != nil {
		return "", off
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return "", off
	}
	b, _ := io.ReadAll(f)
	return string(b), off + int64(len(b))
}
