package policywatch

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/replicastatus"
)

// TestReplicaStatusLease: the watcher publishes each outcome on the
// replica's own status Lease: an applied policy, then a rejected one that
// leaves the applied one in force.
func TestReplicaStatusLease(t *testing.T) {
	t.Setenv(replicastatus.IdentityEnv, "replica-under-test")
	e := start(t, configMap(map[string]string{cmKey: goodPolicy}))
	hash := hashOf(t, goodPolicy)
	steps := []struct {
		name   string
		change func()
		want   func(replicastatus.State) bool
	}{
		{"applied", func() {}, func(s replicastatus.State) bool {
			return s.Hash == hash && s.Generation == 1 && s.LastError == "" && s.Source == "configmap ml-scheduler/ml-scheduler-policy"
		}},
		{"rejected", func() {
			e.update(func(cm *v1.ConfigMap) { cm.Data[cmKey] = "kind: PlacementPolicy\nrules: 3\n" })
		}, func(s replicastatus.State) bool { return s.Hash == hash && s.Generation == 1 && s.LastError != "" }},
	}
	for _, st := range steps {
		st.change()
		var got []replicastatus.State
		e.waitFor("the status Lease after "+st.name, func() bool {
			var err error
			got, err = replicastatus.Read(e.ctx, e.client, cmNamespace, time.Now())
			return err == nil && len(got) == 1 && got[0].Identity == "replica-under-test" && st.want(got[0])
		})
	}
}
