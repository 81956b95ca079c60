package simulator

import (
	"fmt"
	"os"
	"strings"
)

// ConfigFlag is one NAME=SCHEDCONFIG.yaml[:POLICY.yaml] argument of the
// commands that replay workloads (kubectl mlsched simulate, realreplay).
type ConfigFlag struct {
	Raw                    string
	Name                   string
	ConfigPath, PolicyPath string
}

// ParseConfigFlags parses --config arguments; names must be unique. Errors
// name the argument and the reason.
func ParseConfigFlags(args []string) ([]ConfigFlag, error) {
	out := make([]ConfigFlag, 0, len(args))
	seen := map[string]bool{}
	for _, a := range args {
		name, rest, ok := strings.Cut(a, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("--config %q: want NAME=SCHEDCONFIG.yaml[:POLICY.yaml]", a)
		}
		cfg, pol, _ := strings.Cut(rest, ":")
		if cfg == "" {
			return nil, fmt.Errorf("--config %q: no scheduler configuration file after %q", a, name+"=")
		}
		if seen[name] {
			return nil, fmt.Errorf("--config %q: configuration name %q given twice", a, name)
		}
		seen[name] = true
		out = append(out, ConfigFlag{Raw: a, Name: name, ConfigPath: cfg, PolicyPath: pol})
	}
	return out, nil
}

// Load reads the flag's files into a Configuration.
func (f ConfigFlag) Load() (Configuration, error) {
	cfg, err := os.ReadFile(f.ConfigPath)
	if err != nil {
		return Configuration{}, fmt.Errorf("--config %q: scheduler configuration: %w", f.Raw, err)
	}
	var pol []byte
	if f.PolicyPath != "" {
		if pol, err = os.ReadFile(f.PolicyPath); err != nil {
			return Configuration{}, fmt.Errorf("--config %q: policy: %w", f.Raw, err)
		}
	}
	return Configuration{Name: f.Name, SchedulerConfig: cfg, Policy: pol}, nil
}
