package scheme

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	kubeschedulerscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
)

const header = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: ml-scheduler
  plugins:
    multiPoint:
      enabled:
      - name: MLPolicy
`

func TestDecodeMLPolicyArgs(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    *config.MLPolicyArgs
		wantErr string
	}{
		{
			name: "defaults when no pluginConfig is given",
			yaml: header,
			want: &config.MLPolicyArgs{PolicyConfigMapNamespace: "ml-scheduler", PolicyConfigMapName: "ml-scheduler-policy", PolicyConfigMapKey: "policy.yaml"},
		},
		{
			name: "explicit ConfigMap, namespace defaulted",
			yaml: header + `  pluginConfig:
  - name: MLPolicy
    args:
      policyConfigMap: {name: team-policy}
      policyConfigMapKey: rules.yaml
`,
			want: &config.MLPolicyArgs{PolicyConfigMapNamespace: "ml-scheduler", PolicyConfigMapName: "team-policy", PolicyConfigMapKey: "rules.yaml"},
		},
		{
			name: "file only",
			yaml: header + `  pluginConfig:
  - name: MLPolicy
    args:
      policyConfigMap: {name: ""}
      policyFile: /etc/ml-scheduler/policy.yaml
`,
			want: &config.MLPolicyArgs{PolicyConfigMapNamespace: "ml-scheduler", PolicyConfigMapKey: "policy.yaml", PolicyFile: "/etc/ml-scheduler/policy.yaml"},
		},
		{
			name: "placement Events on",
			yaml: header + `  pluginConfig:
  - name: MLPolicy
    args:
      placementEvents: true
`,
			want: &config.MLPolicyArgs{PolicyConfigMapNamespace: "ml-scheduler", PolicyConfigMapName: "ml-scheduler-policy", PolicyConfigMapKey: "policy.yaml", PlacementEvents: true},
		},
		{
			name: "unknown field is an error naming it",
			yaml: header + `  pluginConfig:
  - name: MLPolicy
    args:
      policyConfigMapp: {name: x}
`,
			wantErr: `unknown field "policyConfigMapp"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, _, err := kubeschedulerscheme.Codecs.UniversalDecoder().Decode([]byte(tc.yaml), nil, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			cfg := obj.(*schedconfig.KubeSchedulerConfiguration)
			var got *config.MLPolicyArgs
			for _, pc := range cfg.Profiles[0].PluginConfig {
				if pc.Name == "MLPolicy" {
					a, ok := pc.Args.(*config.MLPolicyArgs)
					if !ok {
						t.Fatalf("args of type %T, want *config.MLPolicyArgs", pc.Args)
					}
					got = a
				}
			}
			if got == nil {
				t.Fatal("no MLPolicy pluginConfig after defaulting")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}
