package policywatch

import (
	"context"
	"encoding/json"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

// Status annotations the scheduler writes on its policy ConfigMap.
const (
	// AnnotationActiveHash is the hash of the policy in force ("" if none).
	AnnotationActiveHash = "ml-scheduler.io/active-policy-hash"
	// AnnotationLastError is why the last policy text was rejected ("" if it was not).
	AnnotationLastError = "ml-scheduler.io/policy-error"
)

// writeStatus brings the status annotations in line with the outcome. It
// returns true when it changed them: with two replicas watching the same
// ConfigMap, only the first to report an outcome also emits its Event.
// Generation is per replica, so it is kept out of the annotations (it is in
// the metrics) and both replicas agree on what they write.
func (w *Watcher) writeStatus(ctx context.Context, cm *v1.ConfigMap, active *policystore.Active) bool {
	hash := ""
	if active != nil {
		hash = active.Policy.Hash()
	}
	errText := trim(w.lastErr)
	if cm.Annotations[AnnotationActiveHash] == hash && cm.Annotations[AnnotationLastError] == errText {
		return false
	}
	patch := map[string]interface{}{
		"metadata": map[string]interface{}{
			"annotations": map[string]interface{}{
				AnnotationActiveHash: hash,
				AnnotationLastError:  errText,
			},
		},
	}
	body, err := json.Marshal(patch)
	if err != nil {
		return false
	}
	if _, err := w.opts.Client.CoreV1().ConfigMaps(cm.Namespace).Patch(ctx, cm.Name, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
		klog.FromContext(ctx).Error(err, "Could not write policy status annotations")
		return true // still tell the admin through the Event
	}
	return true
}
