package policystore

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

const subsystem = "ml_scheduler"

// Reload results, the values of the result label of policy_reloads_total.
const (
	ResultApplied   = "applied"
	ResultRejected  = "rejected"
	ResultUnchanged = "unchanged"
	ResultDeleted   = "deleted"
)

var (
	policyGeneration = metrics.NewGauge(&metrics.GaugeOpts{
		Subsystem:      subsystem,
		Name:           "policy_generation",
		Help:           "Generation of the placement policy in force (swaps since start; 0: none loaded).",
		StabilityLevel: metrics.ALPHA,
	})
	policyInfo = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Subsystem:      subsystem,
		Name:           "policy_info",
		Help:           "1 for the hash of the placement policy in force.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"hash"})
	policyReloads = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      subsystem,
		Name:           "policy_reloads_total",
		Help:           "Policy ConfigMap changes seen, by result: applied, rejected, unchanged, deleted.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})
	policyLastReloadOK = metrics.NewGauge(&metrics.GaugeOpts{
		Subsystem:      subsystem,
		Name:           "policy_last_reload_success",
		Help:           "1 if the last policy change seen was applied or unchanged, 0 if it was rejected or the ConfigMap deleted.",
		StabilityLevel: metrics.ALPHA,
	})

	registerOnce sync.Once
)

// RegisterMetrics registers the policy metrics with the scheduler's registry.
func RegisterMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(policyGeneration, policyInfo, policyReloads, policyLastReloadOK)
	})
}

// RecordReload counts one policy change by result.
func RecordReload(result string) {
	policyReloads.WithLabelValues(result).Inc()
	switch result {
	case ResultApplied, ResultUnchanged:
		policyLastReloadOK.Set(1)
	default:
		policyLastReloadOK.Set(0)
	}
}
