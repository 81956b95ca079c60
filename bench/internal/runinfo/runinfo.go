// Package runinfo says what a benchmark result was measured on: the commit
// and the machine's load.
package runinfo

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
)

// Commit is the short HEAD commit, marked when tracked files have changes.
func Commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}

// LoadAverage is the 1-minute load average ("?" if unknown).
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// Command is how a results file names the command it came from: name, then
// the arguments quoted for a POSIX shell where they need it (an empty one
// as ”).
func Command(name string, args []string) string {
	parts := []string{name}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " ()'\"$*?[]|&;<>\\`") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
