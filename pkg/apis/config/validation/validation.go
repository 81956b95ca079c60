// Package validation checks MLPolicy plugin args.
package validation

import (
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
)

// ValidateMLPolicyArgs returns every problem in the args, with field paths
// relative to the plugin's args.
func ValidateMLPolicyArgs(path *field.Path, args *config.MLPolicyArgs) field.ErrorList {
	var errs field.ErrorList
	cm := path.Child("policyConfigMap")
	if args.PolicyConfigMapName == "" && args.PolicyFile == "" {
		errs = append(errs, field.Required(cm.Child("name"), "set a policy ConfigMap or a policyFile"))
	}
	if args.PolicyConfigMapName != "" {
		for _, msg := range apivalidation.NameIsDNSSubdomain(args.PolicyConfigMapName, false) {
			errs = append(errs, field.Invalid(cm.Child("name"), args.PolicyConfigMapName, msg))
		}
		for _, msg := range apivalidation.ValidateNamespaceName(args.PolicyConfigMapNamespace, false) {
			errs = append(errs, field.Invalid(cm.Child("namespace"), args.PolicyConfigMapNamespace, msg))
		}
		for _, msg := range validation.IsConfigMapKey(args.PolicyConfigMapKey) {
			errs = append(errs, field.Invalid(path.Child("policyConfigMapKey"), args.PolicyConfigMapKey, msg))
		}
	}
	return errs
}
