package simulator

import (
	"fmt"

	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/latest"
	schedscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/validation"

	mlconfig "github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
	_ "github.com/ml-scheduler/ml-scheduler/pkg/apis/config/scheme" // MLPolicyArgs in the config scheme, as in the binary
	configv1 "github.com/ml-scheduler/ml-scheduler/pkg/apis/config/v1"
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// schedulerSetup is what a Configuration resolves to.
type schedulerSetup struct {
	cfg *schedconfig.KubeSchedulerConfiguration
	// schedulerName is the first profile's: every replayed pod gets it.
	schedulerName string
	// mlPolicy is set when the first profile enables MLPolicy.
	mlPolicy *mlconfig.MLPolicyArgs
}

// LoadSchedulerConfig decodes a KubeSchedulerConfiguration as kube-scheduler
// does for --config (strict decoding by its scheme, which also knows
// MLPolicyArgs, then defaulting), turns leader election off and validates
// it. Empty data gives kube-scheduler's default configuration.
// clientConnection is ignored by the simulator.
func LoadSchedulerConfig(data []byte) (*schedconfig.KubeSchedulerConfiguration, error) {
	var cfg *schedconfig.KubeSchedulerConfiguration
	if len(data) == 0 {
		c, err := latest.Default()
		if err != nil {
			return nil, err
		}
		cfg = c
	} else {
		// As k8s.io/kubernetes/cmd/kube-scheduler/app/options.LoadConfigFromFile.
		obj, gvk, err := schedscheme.Codecs.UniversalDecoder().Decode(data, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("decoding scheduler configuration: %w", err)
		}
		c, ok := obj.(*schedconfig.KubeSchedulerConfiguration)
		if !ok {
			return nil, fmt.Errorf("decoding scheduler configuration: got %s, want KubeSchedulerConfiguration", gvk)
		}
		c.TypeMeta.APIVersion = gvk.GroupVersion().String()
		cfg = c
	}
	// One scheduler in one process: no lease to take.
	cfg.LeaderElection.LeaderElect = false
	if err := validation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
		return nil, fmt.Errorf("invalid scheduler configuration: %w", err)
	}
	if len(cfg.Extenders) > 0 {
		return nil, fmt.Errorf("invalid scheduler configuration: extenders: the simulator does not call scheduler extenders")
	}
	return cfg, nil
}

// resolve loads c's scheduler configuration and checks it against c.Policy.
func (c Configuration) resolve() (*schedulerSetup, error) {
	cfg, err := LoadSchedulerConfig(c.SchedulerConfig)
	if err != nil {
		return nil, err
	}
	s := &schedulerSetup{cfg: cfg, schedulerName: cfg.Profiles[0].SchedulerName}
	prof := cfg.Profiles[0]
	if ProfileEnables(prof, mlpolicy.Name) {
		args, err := MLPolicyArgs(prof)
		if err != nil {
			return nil, err
		}
		s.mlPolicy = args
	}
	switch {
	case len(c.Policy) > 0 && s.mlPolicy == nil:
		return nil, fmt.Errorf("a placement policy is given but profile %q does not enable the %s plugin", s.schedulerName, mlpolicy.Name)
	case len(c.Policy) > 0 && s.mlPolicy.PolicyConfigMapName == "":
		return nil, fmt.Errorf("a placement policy is given but the %s args of profile %q name no policyConfigMap to put it in", mlpolicy.Name, s.schedulerName)
	case len(c.Policy) == 0 && s.mlPolicy != nil && s.mlPolicy.PolicyFile == "":
		return nil, fmt.Errorf("profile %q enables %s but no placement policy is given (and its args have no policyFile): every pod would stay pending", s.schedulerName, mlpolicy.Name)
	}
	if len(c.Policy) > 0 {
		if _, err := policy.Load(c.Policy); err != nil {
			return nil, fmt.Errorf("placement policy: %w", err)
		}
	}
	return s, nil
}

// ProfileEnables tells whether a (defaulted) profile enables the plugin at
// any extension point.
func ProfileEnables(p schedconfig.KubeSchedulerProfile, name string) bool {
	if p.Plugins == nil {
		return false
	}
	for _, set := range []schedconfig.PluginSet{
		p.Plugins.MultiPoint, p.Plugins.PreEnqueue, p.Plugins.QueueSort, p.Plugins.PreFilter, p.Plugins.Filter,
		p.Plugins.PostFilter, p.Plugins.PreScore, p.Plugins.Score, p.Plugins.Reserve, p.Plugins.Permit,
		p.Plugins.PreBind, p.Plugins.Bind, p.Plugins.PostBind,
		p.Plugins.PlacementGenerate, p.Plugins.PlacementScore, p.Plugins.PodGroupPostFilter,
	} {
		for _, pl := range set.Enabled {
			if pl.Name == name {
				return true
			}
		}
	}
	return false
}

// MLPolicyArgs returns the profile's MLPolicy args, defaulted as the plugin
// does when the profile has no pluginConfig for it.
func MLPolicyArgs(p schedconfig.KubeSchedulerProfile) (*mlconfig.MLPolicyArgs, error) {
	for _, pc := range p.PluginConfig {
		if pc.Name != mlpolicy.Name {
			continue
		}
		a, ok := pc.Args.(*mlconfig.MLPolicyArgs)
		if !ok {
			return nil, fmt.Errorf("profile %q: %s args have type %T", p.SchedulerName, mlpolicy.Name, pc.Args)
		}
		return a, nil
	}
	v := &configv1.MLPolicyArgs{}
	configv1.SetDefaults_MLPolicyArgs(v)
	out := &mlconfig.MLPolicyArgs{}
	if err := configv1.Convert_v1_MLPolicyArgs_To_config_MLPolicyArgs(v, out, nil); err != nil {
		return nil, err
	}
	return out, nil
}
