// Package gangsupport decides at start-up whether ml-scheduler schedules
// PodGroups (gang scheduling, scheduling.k8s.io/v1beta1).
//
// kube-scheduler v1.37 with the GenericWorkload feature gate on registers a
// PodGroup informer (pkg/scheduler/eventhandlers.go) and, before it
// schedules anything or even runs for leader, waits for every informer to
// sync (cmd/kube-scheduler/app/server.go, startInformersAndWaitForSync).
// If the apiserver does not serve PodGroups, the list fails with "the server
// could not find the requested resource" again and again, the sync never
// completes, /readyz reports sched-handler-sync failing and no pod is ever
// scheduled, not even plain ones. Check asks discovery first and, when
// PodGroups are not served, turns the workload gates off for this process,
// so the scheduler starts and schedules plain pods as usual. Such a cluster
// has no gang pods: with GenericWorkload off, the apiserver drops
// spec.schedulingGroup.
package gangsupport

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/component-base/featuregate"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/features"
)

const (
	// SchedulerFlag is what ml-scheduler needs for gangs.
	SchedulerFlag = "--feature-gates=GenericWorkload=true,TopologyAwareWorkloadScheduling=true"
	// APIServerFlags is what kube-apiserver needs to serve PodGroups.
	APIServerFlags = "--feature-gates=GenericWorkload=true,TopologyAwareWorkloadScheduling=true --runtime-config=scheduling.k8s.io/v1beta1=true"
)

// PodGroups is the resource the scheduler's PodGroup informer lists.
var PodGroups = schedulingv1beta1.SchemeGroupVersion.WithResource("podgroups")

// Outcome of Check.
type Outcome string

const (
	// GateOff: GenericWorkload is off in this process; nothing was asked.
	GateOff Outcome = "GateOff"
	// On: the gate is on and the apiserver serves PodGroups.
	On Outcome = "On"
	// NotServed: the gate was on, the apiserver does not serve PodGroups,
	// and Check turned the workload gates off.
	NotServed Outcome = "NotServed"
	// Unknown: discovery kept failing (or the gates could not be changed);
	// the gates are left as they were.
	Unknown Outcome = "Unknown"
)

// Result says what Check found and did.
type Result struct {
	Outcome Outcome
	// Disabled are the gates Check turned off (NotServed), sorted.
	Disabled []string
	// Err is the last discovery error, or the error setting the gates (Unknown).
	Err error
}

// Retry bounds how long Check retries discovery errors other than
// NotFound (an apiserver still starting, a network blip).
type Retry struct {
	Interval, Timeout time.Duration
}

// DefaultRetry keeps start-up well inside the Deployment's liveness budget.
var DefaultRetry = Retry{Interval: time.Second, Timeout: 20 * time.Second}

// Check looks up PodGroups through the discovery client connect returns
// (called only when gate has GenericWorkload on). Served: gang scheduling
// stays on. Not served (the group version is missing, or lacks podgroups):
// GenericWorkload and every enabled gate that depends on it, directly or
// not (TopologyAwareWorkloadScheduling, CompositePodGroup, ...), are turned
// off in gate. Any other error is retried as retry says; if it persists the
// gates are left on, since turning them off on a cluster that does serve
// PodGroups would schedule a gang's pods one by one. Check does not log:
// Result.Log does, once logging is configured.
func Check(ctx context.Context, gate featuregate.MutableFeatureGate, connect func() (discovery.DiscoveryInterface, error), retry Retry) Result {
	if !gate.Enabled(features.GenericWorkload) {
		return Result{Outcome: GateOff}
	}
	disc, err := connect()
	if err != nil {
		// The scheduler builds the same connection and fails with its own error.
		return Result{Outcome: Unknown, Err: err}
	}
	var served bool
	var lastErr error
	err = wait.PollUntilContextTimeout(ctx, retry.Interval, retry.Timeout, true, func(context.Context) (bool, error) {
		served, lastErr = discovery.IsResourceEnabled(disc, PodGroups)
		return lastErr == nil, nil
	})
	switch {
	case err != nil && lastErr == nil:
		lastErr = err // the context ended before the first answer
	case err == nil && served:
		return Result{Outcome: On}
	case err == nil:
		off := workloadGates(gate)
		m := make(map[string]bool, len(off))
		for _, f := range off {
			m[f] = false
		}
		if err := gate.SetFromMap(m); err != nil {
			return Result{Outcome: Unknown, Err: err}
		}
		return Result{Outcome: NotServed, Disabled: off}
	}
	return Result{Outcome: Unknown, Err: lastErr}
}

// workloadGates returns GenericWorkload and the enabled gates that depend
// on it, directly or through another gate, from gate's own dependency table.
func workloadGates(gate featuregate.FeatureGate) []string {
	deps := gate.Dependencies()
	off := map[featuregate.Feature]bool{features.GenericWorkload: true}
	for grew := true; grew; {
		grew = false
		for f, ds := range deps {
			if !off[f] && slices.ContainsFunc(ds, func(d featuregate.Feature) bool { return off[d] }) {
				off[f], grew = true, true
			}
		}
	}
	var out []string
	for f := range off {
		if gate.Enabled(f) {
			out = append(out, string(f))
		}
	}
	slices.Sort(out)
	return out
}

// Log writes the one start-up line for r.
func (r Result) Log(logger klog.Logger) {
	gv := PodGroups.GroupVersion().String()
	switch r.Outcome {
	case GateOff:
		logger.Info("Gang scheduling is off: feature gate GenericWorkload is off in ml-scheduler; PodGroups are not scheduled",
			"enableWith", SchedulerFlag)
	case On:
		logger.Info("Gang scheduling is on: the apiserver serves PodGroup API "+gv, "featureGate", string(features.GenericWorkload))
	case NotServed:
		logger.Info("Warning: PodGroup API "+gv+" not served by the apiserver: gang scheduling is off; pods without a schedulingGroup are scheduled as usual",
			"disabledFeatureGates", strings.Join(r.Disabled, ","),
			"enableOnAPIServer", APIServerFlags)
	default:
		err := r.Err
		if err == nil {
			err = errors.New("unknown outcome " + string(r.Outcome))
		}
		logger.Error(err, "Could not check whether the apiserver serves PodGroup API "+gv+"; gang scheduling stays on as configured. "+
			"If PodGroups are not served, the scheduler waits for its PodGroup informer to sync and schedules nothing",
			"enableOnAPIServer", APIServerFlags)
	}
}
