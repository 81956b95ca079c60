package explain

import (
	"fmt"
	"os"

	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"

	"github.com/ml-scheduler/ml-scheduler/manifests"
	mlconfig "github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

// Config is the scheduler configuration the re-run builds its framework from.
type Config struct {
	*schedconfig.KubeSchedulerConfiguration
	// Source says where it came from.
	Source string
}

// LoadConfig reads the scheduler configuration at path as kube-scheduler
// reads --config (simulator.LoadSchedulerConfig). With path "" it is the
// shipped configuration, built into the binary (package manifests).
func LoadConfig(path string) (*Config, error) {
	data, source := manifests.SchedulerConfig, manifests.SchedulerConfigSource
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("scheduler configuration: %w", err)
		}
		source = path
	}
	cfg, err := simulator.LoadSchedulerConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &Config{KubeSchedulerConfiguration: cfg, Source: source}, nil
}

// Profile returns the index of the profile serving schedulerName.
func (c *Config) Profile(schedulerName string) (int, error) {
	var names []string
	for i, p := range c.Profiles {
		if p.SchedulerName == schedulerName {
			return i, nil
		}
		names = append(names, p.SchedulerName)
	}
	return 0, fmt.Errorf("the pod's spec.schedulerName is %q, but the scheduler configuration (%s) serves only %q", schedulerName, c.Source, names)
}

// MLPolicyArgs returns the MLPolicy args of profile i, defaulted as the
// plugin defaults them, or nil when the profile does not enable MLPolicy.
func (c *Config) MLPolicyArgs(i int) (*mlconfig.MLPolicyArgs, error) {
	p := c.Profiles[i]
	if !simulator.ProfileEnables(p, mlpolicy.Name) {
		return nil, nil
	}
	return simulator.MLPolicyArgs(p)
}
