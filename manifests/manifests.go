// Package manifests embeds the shipped scheduler configuration and policy,
// so the admin tools (kubectl mlsched) replay pods through what is deployed
// from manifests/base, wherever they run, when no --config is given.
package manifests

import _ "embed"

// SchedulerConfig is manifests/base/scheduler-config.yaml.
//
//go:embed base/scheduler-config.yaml
var SchedulerConfig []byte

// SchedulerConfigSource names SchedulerConfig in tool output.
const SchedulerConfigSource = "the shipped manifests/base/scheduler-config.yaml (built in)"
