package validation

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
)

func TestValidateMLPolicyArgs(t *testing.T) {
	good := config.MLPolicyArgs{PolicyConfigMapNamespace: "ml-scheduler", PolicyConfigMapName: "ml-scheduler-policy", PolicyConfigMapKey: "policy.yaml"}
	tests := []struct {
		name   string
		mutate func(*config.MLPolicyArgs)
		want   []string // "type field" of each error
	}{
		{name: "valid", mutate: func(*config.MLPolicyArgs) {}},
		{name: "file only", mutate: func(a *config.MLPolicyArgs) { a.PolicyConfigMapName, a.PolicyFile = "", "/p.yaml" }},
		{name: "no source", mutate: func(a *config.MLPolicyArgs) { a.PolicyConfigMapName = "" },
			want: []string{"FieldValueRequired args.policyConfigMap.name"}},
		{name: "bad name", mutate: func(a *config.MLPolicyArgs) { a.PolicyConfigMapName = "Bad_Name" },
			want: []string{"FieldValueInvalid args.policyConfigMap.name"}},
		{name: "bad namespace", mutate: func(a *config.MLPolicyArgs) { a.PolicyConfigMapNamespace = "a.b" },
			want: []string{"FieldValueInvalid args.policyConfigMap.namespace"}},
		{name: "bad key", mutate: func(a *config.MLPolicyArgs) { a.PolicyConfigMapKey = "a/b" },
			want: []string{"FieldValueInvalid args.policyConfigMapKey"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := good
			tc.mutate(&a)
			errs := ValidateMLPolicyArgs(field.NewPath("args"), &a)
			var got []string
			for _, e := range errs {
				got = append(got, string(e.Type)+" "+e.Field)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("errors %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("error %d: %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}
