package controlplane

import (
	"slices"
	"strings"
	"testing"
)

func TestAPIServerGateArgs(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{name: "default: the PodGroup API", opts: Options{}, want: []string{
			"--feature-gates=GenericWorkload=true,TopologyAwareWorkloadScheduling=true",
			"--runtime-config=scheduling.k8s.io/v1beta1=true",
		}},
		{name: "without it", opts: Options{WithoutPodGroupAPI: true}, want: nil},
		{name: "extra gates merged over", opts: Options{FeatureGates: map[string]bool{"TopologyAwareWorkloadScheduling": false, "DRAWorkloadResourceClaims": true}}, want: []string{
			"--feature-gates=DRAWorkloadResourceClaims=true,GenericWorkload=true,TopologyAwareWorkloadScheduling=false",
			"--runtime-config=scheduling.k8s.io/v1beta1=true",
		}},
		{name: "without it, other gates kept", opts: Options{WithoutPodGroupAPI: true, FeatureGates: map[string]bool{"A": true}}, want: []string{
			"--feature-gates=A=true",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := apiServerGateArgs(tc.opts); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMergeFeatureGates(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{name: "no gates in args", args: []string{"--v=2"},
			want: []string{"--v=2", "--feature-gates=GenericWorkload=true,TopologyAwareWorkloadScheduling=true"}},
		{name: "args add and override, both spellings, later wins",
			args: []string{"--feature-gates=TopologyAwareWorkloadScheduling=false, X=true", "--v=2", "--feature-gates", "X=false,Y=true"},
			want: []string{"--v=2", "--feature-gates=GenericWorkload=true,TopologyAwareWorkloadScheduling=false,X=false,Y=true"}},
		{name: "missing value", args: []string{"--feature-gates"}, wantErr: "without a value"},
		{name: "not a bool", args: []string{"--feature-gates=X=yes please"}, wantErr: `"X=yes please"`},
		{name: "no =", args: []string{"--feature-gates=X"}, wantErr: `"X"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MergeFeatureGates(tc.args, PodGroupFeatureGates)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if len(PodGroupFeatureGates) != 2 {
		t.Errorf("MergeFeatureGates changed its input: %v", PodGroupFeatureGates)
	}
}
