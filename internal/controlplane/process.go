package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultStopGrace is how long Process.Stop waits after SIGTERM before SIGKILL.
const DefaultStopGrace = 10 * time.Second

// Process is a child process running in its own process group, with stdout
// and stderr appended to a log file.
type Process struct {
	Name    string
	LogPath string
	Cmd     *exec.Cmd
	// StopGrace overrides DefaultStopGrace for Stop when > 0.
	StopGrace time.Duration

	logFile *os.File
	done    chan struct{}
	waitErr error // valid once done is closed
}

// StartProcess starts binary with args, logging to logPath (appended to, so a
// restarted process keeps one log). ctx only guards the start itself: the
// process runs until Stop or Kill, so a context that ends after a successful
// start does not take the process down with it.
func StartProcess(ctx context.Context, name, logPath string, binary string, args ...string) (*Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: open log: %w", name, err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: Stop/Kill signal the whole group, children included.
		Setpgid: true,
		// If the test binary dies (e.g. go test timeout), don't leave orphans
		// eating the CPU.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: start %s: %w", name, binary, err)
	}
	p := &Process{Name: name, LogPath: logPath, Cmd: cmd, logFile: f, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id (also the process group id).
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited and, if so, its wait error.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// Stop sends SIGTERM to the process group, then SIGKILL after the grace
// period, and waits for the exit. It is idempotent and safe for concurrent
// use; an exit caused by the signals is not an error.
func (p *Process) Stop() error {
	grace := p.StopGrace
	if grace <= 0 {
		grace = DefaultStopGrace
	}
	if done, _ := p.Exited(); done {
		return nil
	}
	p.signalGroup(syscall.SIGTERM)
	select {
	case <-p.done:
		p.killStragglers()
		return nil
	case <-time.After(grace):
	}
	return p.Kill()
}

// Kill sends SIGKILL to the process group and waits for the exit.
func (p *Process) Kill() error {
	if done, _ := p.Exited(); done {
		return nil
	}
	p.signalGroup(syscall.SIGKILL)
	select {
	case <-p.done:
		p.killStragglers()
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, p.Pid())
	}
}

// signalGroup signals the process group. Callers check Exited first: once the
// leader is reaped and the group is empty its id may be reused.
func (p *Process) signalGroup(sig syscall.Signal) {
	// ESRCH (group already gone) is harmless.
	_ = syscall.Kill(-p.Pid(), sig)
}

// killStragglers SIGKILLs what is left of the group after the leader exited.
// SIGKILL cannot be caught, so there is nothing to wait for; orphans are
// reparented to init, which reaps them.
func (p *Process) killStragglers() { p.signalGroup(syscall.SIGKILL) }

// LogTail returns the last n lines of the process log.
func (p *Process) LogTail(n int) string { return tailFile(p.LogPath, n) }

func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	// Logs can be large: read only the end.
	const maxBytes = 256 << 10
	if st, err := f.Stat(); err == nil && st.Size() > maxBytes {
		_, _ = f.Seek(st.Size()-maxBytes, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitHealthy polls url until it answers 200 OK or timeout/ctx expires.
// insecure skips TLS verification (for self-signed serving certs).
func WaitHealthy(ctx context.Context, url string, insecure bool, timeout time.Duration) error {
	return waitHTTP(ctx, url, insecure, "", nil, timeout)
}

// waitHTTP is WaitHealthy with an optional bearer token and an optional
// channel (a Process's Done) that aborts the wait early when the server died.
func waitHTTP(ctx context.Context, url string, insecure bool, token string, died <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: insecure}},
	}
	defer client.CloseIdleConnections()
	lastErr := errors.New("no attempt made")
	for {
		lastErr = probe(ctx, client, url, token, lastErr)
		if lastErr == nil {
			return nil
		}
		select {
		case <-died:
			return fmt.Errorf("process exited while waiting for %s (last: %v)", url, lastErr)
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy after %v: %v", url, timeout, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func probe(ctx context.Context, client *http.Client, url, token string, prev error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return prev // keep the more useful error from before the deadline
		}
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
}
