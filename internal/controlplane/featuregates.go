package controlplane

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// PodGroupFeatureGates are the gates kube-apiserver needs to serve the
// PodGroup API (scheduling.k8s.io/v1beta1) with topology constraints, and
// ml-scheduler needs to schedule PodGroups. GenericWorkload is beta but off
// by default in 1.37, TopologyAwareWorkloadScheduling alpha.
var PodGroupFeatureGates = map[string]bool{"GenericWorkload": true, "TopologyAwareWorkloadScheduling": true}

// podGroupRuntimeConfig: v1beta1 is a beta API off by default, even with
// the gates on.
const podGroupRuntimeConfig = "scheduling.k8s.io/v1beta1=true"

const featureGatesFlag = "--feature-gates"

// apiServerGateArgs returns kube-apiserver's --feature-gates and
// --runtime-config for o: the PodGroup API unless o.WithoutPodGroupAPI,
// with o.FeatureGates merged over it.
func apiServerGateArgs(o Options) []string {
	gates := map[string]bool{}
	if !o.WithoutPodGroupAPI {
		maps.Copy(gates, PodGroupFeatureGates)
	}
	maps.Copy(gates, o.FeatureGates)
	var args []string
	if len(gates) > 0 {
		args = append(args, featureGatesFlag+"="+FormatFeatureGates(gates))
	}
	if !o.WithoutPodGroupAPI {
		args = append(args, "--runtime-config="+podGroupRuntimeConfig)
	}
	return args
}

// FormatFeatureGates renders gates as a --feature-gates value, sorted.
func FormatFeatureGates(gates map[string]bool) string {
	pairs := make([]string, 0, len(gates))
	for _, k := range slices.Sorted(maps.Keys(gates)) {
		pairs = append(pairs, k+"="+strconv.FormatBool(gates[k]))
	}
	return strings.Join(pairs, ",")
}

// MergeFeatureGates returns args with a single --feature-gates flag, last:
// gates, overridden by every --feature-gates already in args
// ("--feature-gates=A=true,B=false" or "--feature-gates" "A=true"; later
// ones win, as when a component parses them).
func MergeFeatureGates(args []string, gates map[string]bool) ([]string, error) {
	merged := maps.Clone(gates)
	if merged == nil {
		merged = map[string]bool{}
	}
	out := make([]string, 0, len(args)+1)
	for i := 0; i < len(args); i++ {
		var value string
		switch a := args[i]; {
		case strings.HasPrefix(a, featureGatesFlag+"="):
			value = strings.TrimPrefix(a, featureGatesFlag+"=")
		case a == featureGatesFlag:
			if i+1 == len(args) {
				return nil, fmt.Errorf("%s without a value", featureGatesFlag)
			}
			i++
			value = args[i]
		default:
			out = append(out, a)
			continue
		}
		for _, pair := range strings.Split(value, ",") {
			if pair = strings.TrimSpace(pair); pair == "" {
				continue
			}
			k, v, ok := strings.Cut(pair, "=")
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if !ok || err != nil {
				return nil, fmt.Errorf("%s: %q is not name=true|false", featureGatesFlag, pair)
			}
			merged[strings.TrimSpace(k)] = b
		}
	}
	if len(merged) > 0 {
		out = append(out, featureGatesFlag+"="+FormatFeatureGates(merged))
	}
	return out, nil
}
