package controlplane_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

func TestStartMissingBinaries(t *testing.T) {
	_, err := controlplane.Start(context.Background(), controlplane.Options{BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "hack/build-control-plane.sh") {
		t.Fatalf("err = %v, want a hint to run hack/build-control-plane.sh", err)
	}
}

// A process group that ignores SIGTERM is SIGKILLed, children included.
func TestProcessStopKillsGroup(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "sh.log")
	p, err := controlplane.StartProcess(context.Background(), "sh", logPath, "/bin/sh", "-c",
		`trap "" TERM; sleep 60 & echo "child $!"; wait`)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for {
		if _, err := fmt.Sscanf(p.LogTail(1), "child %d", &child); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.StopGrace = 200 * time.Millisecond
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := p.Stop(); err != nil { // idempotent
		t.Fatalf("second Stop: %v", err)
	}
	if exited, _ := p.Exited(); !exited {
		t.Errorf("leader still running after Stop")
	}
	// The grandchild is gone or a zombie waiting for init to reap it.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d still alive after Stop: %s", child, stat)
		}
	}
	if got := p.LogTail(1); !strings.HasPrefix(got, "child ") {
		t.Errorf("LogTail(1) = %q, want the child line", got)
	}
}
