package e2e

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/auth/rbac/validation"
)

// The ServiceAccount ml-scheduler runs as, as the authorizer sees it.
var (
	saUser   = "system:serviceaccount:" + mlNamespace + ":ml-scheduler"
	saGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + mlNamespace, "system:authenticated"}
)

type attrs = authzv1.ResourceAttributes

// rbacLeastPrivilege: the grants are what the scheduler needs and nothing
// wider, asked of the live authorizer (SubjectAccessReview).
func rbacLeastPrivilege(ctx context.Context, t *testing.T, e *Env) {
	must := []attrs{ // what it uses: if these fail the check itself is broken
		{Verb: "get", Resource: "configmaps", Namespace: mlNamespace, Name: mlPolicyCM},
		{Verb: "watch", Resource: "configmaps", Namespace: mlNamespace, Name: mlPolicyCM},
		{Verb: "patch", Resource: "configmaps", Namespace: mlNamespace, Name: mlPolicyCM},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: mlNamespace, Name: mlLease},
		// Its replica's policy status Lease (pkg/replicastatus), named after
		// the pod: not known in advance, so any Lease of its own namespace.
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: mlNamespace, Name: "ml-scheduler-policy-ml-scheduler-7d9f-abcde"},
		{Verb: "create", Resource: "pods", Subresource: "binding", Namespace: teamB},
		{Verb: "create", Group: "events.k8s.io", Resource: "events", Namespace: mlNamespace},
		{Verb: "list", Resource: "nodes"},
	}
	mustNot := []attrs{
		// Other ConfigMaps, including its own config (a mounted file).
		{Verb: "list", Resource: "configmaps", Namespace: mlNamespace},
		{Verb: "get", Resource: "configmaps", Namespace: mlNamespace, Name: configMapName(ctx, t, e)},
		{Verb: "get", Resource: "configmaps", Namespace: "kube-system", Name: "kube-proxy"},
		{Verb: "list", Resource: "configmaps"},
		// The policy: status annotations only, no rewrite, no delete.
		{Verb: "update", Resource: "configmaps", Namespace: mlNamespace, Name: mlPolicyCM},
		{Verb: "delete", Resource: "configmaps", Namespace: mlNamespace, Name: mlPolicyCM},
		{Verb: "create", Resource: "configmaps", Namespace: mlNamespace},
		// Other leases: never the stock scheduler's nor any outside its own
		// namespace (inside it, the per-replica status Leases need update on
		// any name); never list or delete them.
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system", Name: "kube-scheduler"},
		{Verb: "get", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system", Name: "kube-scheduler"},
		{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: teamB, Name: "other"},
		{Verb: "list", Group: "coordination.k8s.io", Resource: "leases", Namespace: mlNamespace},
		{Verb: "delete", Group: "coordination.k8s.io", Resource: "leases", Namespace: mlNamespace, Name: "ml-scheduler-policy-ml-scheduler-7d9f-abcde"},
		{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system"},
		{Verb: "delete", Group: "coordination.k8s.io", Resource: "leases", Namespace: mlNamespace, Name: mlLease},
		{Verb: "list", Group: "coordination.k8s.io", Resource: "leasecandidates", Namespace: mlNamespace},
		// Secrets, tokens, identities.
		{Verb: "get", Resource: "secrets", Namespace: mlNamespace},
		{Verb: "list", Resource: "secrets"},
		{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: mlNamespace, Name: "ml-scheduler"},
		{Verb: "impersonate", Resource: "users"},
		// Workloads and nodes: it binds and preempts, it does not create.
		{Verb: "create", Resource: "pods", Namespace: teamB},
		{Verb: "update", Resource: "pods", Namespace: teamB},
		{Verb: "patch", Resource: "nodes"},
		{Verb: "delete", Resource: "nodes"},
		{Verb: "update", Resource: "nodes", Subresource: "status"},
		{Verb: "create", Resource: "pods", Subresource: "eviction", Namespace: teamB},
		// The guard and RBAC itself.
		{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicies", Name: "ml-scheduler-pool-guard"},
		{Verb: "delete", Group: "admissionregistration.k8s.io", Resource: "mutatingadmissionpolicybindings", Name: "ml-scheduler-pool-toleration"},
		{Verb: "update", Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "ml-scheduler"},
		{Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "roles", Namespace: mlNamespace},
		{Verb: "bind", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
		{Verb: "update", Resource: "namespaces", Name: teamB},
		{Verb: "patch", Group: "apps", Resource: "deployments", Namespace: mlNamespace, Name: mlDeployment},
	}
	for _, a := range must {
		if !allowed(ctx, t, e.Admin, saUser, saGroups, a) {
			t.Errorf("ml-scheduler cannot %s, which it needs", describe(a))
		}
	}
	for _, a := range mustNot {
		if allowed(ctx, t, e.Admin, saUser, saGroups, a) {
			t.Errorf("ml-scheduler CAN %s: wider than needed", describe(a))
		}
	}

	// Its cluster-wide rules are covered by upstream's own roles for the
	// stock scheduler in this very apiserver (no new cluster-wide power).
	rbac := e.Admin.RbacV1()
	ours, err := rbac.ClusterRoles().Get(ctx, "ml-scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var upstream = ours.Rules[:0:0]
	for _, name := range []string{"system:kube-scheduler", "system:volume-scheduler"} {
		r, err := rbac.ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		upstream = append(upstream, r.Rules...)
	}
	if covered, extra := validation.Covers(upstream, ours.Rules); !covered {
		t.Errorf("ClusterRole ml-scheduler grants what upstream's scheduler roles do not: %+v", extra)
	}
	if t.Failed() {
		return
	}
	proved(t, "rbac: the ServiceAccount may do the %d things it needs and none of %d it must not (other ConfigMaps incl. its own config, policy update/delete, kube-system/kube-scheduler and other leases, secrets, tokens, pod create, node writes, the guard, RBAC); its ClusterRole is covered by upstream's system:kube-scheduler + system:volume-scheduler",
		len(must), len(mustNot))
}

// rbacSufficient: after every scenario, neither replica hit a forbidden
// error, and the policy status it patches and the Events it emits are there.
func rbacSufficient(ctx context.Context, t *testing.T, e *Env) {
	logs := e.Replicas.Logs()
	if logs == nil {
		t.Skip("replica logs not at hand")
	}
	forbidden := regexp.MustCompile(`(?i)forbidden|cannot (get|list|watch|create|update|patch) resource`)
	var names []string
	for name, log := range logs {
		names = append(names, name)
		for _, line := range strings.Split(log, "\n") {
			if forbidden.MatchString(line) {
				t.Errorf("%s: %s", name, line)
			}
		}
	}
	sort.Strings(names)
	cm, err := e.Admin.CoreV1().ConfigMaps(mlNamespace).Get(ctx, mlPolicyCM, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hash := cm.Annotations["ml-scheduler.io/active-policy-hash"]
	if hash == "" {
		t.Errorf("policy ConfigMap has no active-policy-hash annotation: the patch was not made")
	}
	evs, err := e.Admin.CoreV1().Events(mlNamespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + mlPolicyCM})
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, ev := range evs.Items {
		if ev.Reason == "PolicyApplied" {
			applied++
		}
	}
	if applied == 0 {
		t.Errorf("no PolicyApplied Event on the policy ConfigMap")
	}
	if t.Failed() {
		return
	}
	proved(t, "rbac: sufficient: replicas %v ran every scenario on the ServiceAccount's token with 0 forbidden errors in their logs; policy %s reported on the ConfigMap (patch) and by %d PolicyApplied Event(s)",
		names, hash, applied)
}

// configMapName is the (hash-suffixed) scheduler-config ConfigMap the
// Deployment mounts.
func configMapName(ctx context.Context, t *testing.T, e *Env) string {
	d, err := e.Admin.AppsV1().Deployments(mlNamespace).Get(ctx, mlDeployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name, _ := configVolume(t, d)
	return name
}

func resourceQ(s string) resource.Quantity { return resource.MustParse(s) }
