package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// The demo runs the admin tools as an admin would: the kubectl-mlsched
// binary `make build` puts beside ml-scheduler, with the control plane's
// admin kubeconfig.

// mlsched runs `kubectl mlsched args...`, prints the command and its output
// indented, and returns the exit code (a code other than those in ok is a
// demo failure).
func (d *demo) mlsched(ctx context.Context, ok []int, args ...string) (int, error) {
	bin := filepath.Join(d.binDir, "kubectl-mlsched")
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", d.kubeconfig}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		return 0, fmt.Errorf("kubectl mlsched %s: %w (make build builds %s)", strings.Join(args, " "), err, bin)
	}
	fmt.Printf("  $ kubectl mlsched %s   # exit %d\n", strings.Join(args, " "), code)
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		fmt.Println("    " + l)
	}
	for _, c := range ok {
		if c == code {
			return code, nil
		}
	}
	d.violations = append(d.violations, fmt.Sprintf("kubectl mlsched %s exited %d, want one of %v", strings.Join(args, " "), code, ok))
	return code, nil
}

// checkPolicy is `policy check --live` on a policy file before it is
// applied: 0 (clean or warnings only) is expected.
func (d *demo) checkPolicy(ctx context.Context, p *policyFile) error {
	fmt.Printf("  Before applying %s, check it against the live cluster:\n", p.name)
	_, err := d.mlsched(ctx, []int{0}, "policy", "check", "-f", filepath.Join(d.dir, p.name), "--live")
	return err
}

// explainWave explains the first placed and the first pending pod of a
// wave that expects a rule or a pending state (gang members are left out:
// explain judges a pod in a cycle of its own).
func (d *demo) explainWave(ctx context.Context, n int) error {
	var placed, pending *demoPod
	for _, p := range wave(d.pods, n) {
		if !p.ours() || p.PodGroup != "" {
			continue
		}
		switch {
		case p.Expect.Pending && pending == nil:
			pending = p
		case !p.Expect.Pending && p.Expect.Rule != "" && placed == nil:
			placed = p
		}
	}
	for _, p := range []*demoPod{placed, pending} {
		if p == nil {
			continue
		}
		fmt.Printf("  Why did %s go where it went (or stay pending)?\n", p.key())
		if _, err := d.mlsched(ctx, []int{0}, "explain", "pod", p.Name, "-n", p.Namespace, "--top", "3"); err != nil {
			return err
		}
	}
	return nil
}

// simulateEdit is `simulate --policy NEW --from-cluster` before the live edit.
func (d *demo) simulateEdit(ctx context.Context, p *policyFile) error {
	fmt.Printf("  Before the edit, what would %s do to the cluster?\n", p.name)
	_, err := d.mlsched(ctx, []int{0}, "simulate", "--policy", filepath.Join(d.dir, p.name), "--from-cluster")
	return err
}

// status is `kubectl mlsched status`.
func (d *demo) status(ctx context.Context) error {
	fmt.Println("  The policy in force per replica, the leader, the pods pending by rule:")
	_, err := d.mlsched(ctx, []int{0}, "status")
	return err
}
