package controlplane

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
)

// StopMode says how a restart ends the running process.
type StopMode int

const (
	// Graceful sends SIGTERM and waits for the exit (SIGKILL after StopGrace).
	Graceful StopMode = iota
	// Crash sends SIGKILL: no shutdown at all, as when a node dies.
	Crash
)

func (m StopMode) String() string {
	if m == Crash {
		return "SIGKILL"
	}
	return "SIGTERM"
}

// restartReadyTimeout bounds waiting for a restarted server: etcd replays
// its WAL and kube-apiserver re-lists every resource into its watch cache,
// which takes a while on 2 shared cores.
const restartReadyTimeout = 3 * time.Minute

// RestartAPIServer stops kube-apiserver as mode says, waits down, and
// starts it again with the same binary and arguments (so on the same port,
// with the same certificates and token file), then waits for /readyz.
// c.APIServer is the new process afterwards, so Stop still cleans up. It
// returns how long the apiserver was away: from the stop to /readyz
// answering 200.
func (c *ControlPlane) RestartAPIServer(ctx context.Context, mode StopMode, down time.Duration) (time.Duration, error) {
	begin := time.Now()
	err := c.restart(ctx, &c.APIServer, mode, down, func(p *Process) error {
		return waitHTTP(ctx, c.URL+"/readyz", true, c.Token, p.Done(), restartReadyTimeout)
	})
	if err != nil {
		return time.Since(begin), err
	}
	c.logf("control plane: kube-apiserver restarted (%v) and ready after %v", mode, time.Since(begin).Round(time.Millisecond))
	return time.Since(begin), nil
}

// RestartEtcd stops etcd as mode says, waits down, and starts it again on
// the same ports and data directory, then waits for its /health and for
// kube-apiserver's /readyz (which checks etcd). c.Etcd is the new process
// afterwards. It returns the time from the stop to the apiserver ready.
func (c *ControlPlane) RestartEtcd(ctx context.Context, mode StopMode, down time.Duration) (time.Duration, error) {
	begin := time.Now()
	err := c.restart(ctx, &c.Etcd, mode, down, func(p *Process) error {
		return waitHTTP(ctx, c.EtcdURL+"/health", false, "", p.Done(), restartReadyTimeout)
	})
	if err != nil {
		return time.Since(begin), err
	}
	if err := c.WaitAPIServerReady(ctx); err != nil {
		return time.Since(begin), err
	}
	c.logf("control plane: etcd restarted (%v); kube-apiserver ready after %v", mode, time.Since(begin).Round(time.Millisecond))
	return time.Since(begin), nil
}

// WaitAPIServerReady waits until kube-apiserver answers /readyz with 200.
func (c *ControlPlane) WaitAPIServerReady(ctx context.Context) error {
	p := c.APIServer
	if err := waitHTTP(ctx, c.URL+"/readyz", true, c.Token, p.Done(), restartReadyTimeout); err != nil {
		return fmt.Errorf("kube-apiserver: %w\n--- last lines of %s ---\n%s", err, p.LogPath, p.LogTail(40))
	}
	return nil
}

// FreezeAPIServer stops kube-apiserver's process group with SIGSTOP: its
// sockets stay open but nothing answers, as with a hung server. Thaw with
// ThawAPIServer; Stop kills a frozen apiserver all the same (SIGKILL).
func (c *ControlPlane) FreezeAPIServer() error { return signalLive(c.APIServer, syscall.SIGSTOP) }

// ThawAPIServer resumes a frozen kube-apiserver with SIGCONT.
func (c *ControlPlane) ThawAPIServer() error { return signalLive(c.APIServer, syscall.SIGCONT) }

func signalLive(p *Process, sig syscall.Signal) error {
	if p == nil {
		return errors.New("no process")
	}
	if done, err := p.Exited(); done {
		return fmt.Errorf("%s already exited: %v", p.Name, err)
	}
	p.signalGroup(sig)
	return nil
}

// restart ends *pp as mode says, waits down, starts its command line again (appending
// to the same log) and stores the new process in *pp once ready says it
// serves. A port still held a moment after the exit is retried.
func (c *ControlPlane) restart(ctx context.Context, pp **Process, mode StopMode, down time.Duration, ready func(*Process) error) error {
	p := *pp
	if p == nil {
		return errors.New("restart: no process")
	}
	var err error
	if mode == Crash {
		err = p.Kill()
	} else {
		err = p.Stop()
	}
	if err != nil {
		return fmt.Errorf("stopping %s: %w", p.Name, err)
	}
	c.logf("control plane: %s (pid %d) stopped with %v; starting it again in %v", p.Name, p.Pid(), mode, down)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	// Cmd.Path is the resolved binary, Cmd.Args[0] only its name as given.
	binary, args := p.Cmd.Path, p.Cmd.Args[1:]
	for attempt := 1; ; attempt++ {
		np, err := StartProcess(ctx, p.Name, p.LogPath, binary, args...)
		if err != nil {
			return err
		}
		// Stored at once: Stop must find it even if it never gets ready.
		*pp = np
		err = ready(np)
		if err == nil {
			return nil
		}
		tail := np.LogTail(40)
		if done, _ := np.Exited(); !done || attempt == 5 || !strings.Contains(tail, "address already in use") {
			return fmt.Errorf("restarted %s: %w\n--- last lines of %s ---\n%s", p.Name, err, p.LogPath, tail)
		}
		time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
	}
}
