package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/policycheck"
)

const (
	clicheckResearch = "it-clicheck-research"
	clicheckInfer    = "it-clicheck-infer"
	// clicheckGhost is a namespace no test creates.
	clicheckGhost = "it-clicheck-ghost"
	clicheckPool  = "clicheck.ml-scheduler.io/pool"
)

// clicheckEveryFinding triggers every semantic finding of policy check on
// the case's nodes (2 A100 nodes with 8 GPUs in pool train, 2 L4 nodes with
// 2 GPUs in pool infer) and its pending 4-GPU pod in clicheckInfer, while
// the scheduler accepts it.
const clicheckEveryFinding = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- name: train
  nodeSelector: {matchLabels: {clicheck.ml-scheduler.io/pool: train}}
  ownerNamespaces: [it-clicheck-research, it-clicheck-ghost]  # a namespace that does not exist
- name: all-gpus  # shares the train nodes, with other owners
  nodeSelector: {matchExpressions: [{key: clicheck.ml-scheduler.io/pool, operator: In, values: [train, infer]}]}
  ownerNamespaces: [it-clicheck-research, it-clicheck-infer]
- name: infer
  nodeSelector: {matchLabels: {clicheck.ml-scheduler.io/pool: infer}}
- name: h100  # no node has this label value
  nodeSelector: {matchLabels: {clicheck.ml-scheduler.io/pool: h100}}
rules:
- name: inference  # its 4-GPU pending pod is confined to 2-GPU nodes
  match: {namespaces: [it-clicheck-infer]}
  pools: [infer]
- name: inference-h100  # shadowed by inference; a GPU model no node has
  match:
    namespaces: [it-clicheck-infer]
    podSelector: {matchLabels: {ml-scheduler.io/workload: inference}}
  gpuModels: [NVIDIA-H100-CLICHECK]
`

// clicheckClean is the same intent without the mistakes.
const clicheckClean = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- name: train
  nodeSelector: {matchLabels: {clicheck.ml-scheduler.io/pool: train}}
  ownerNamespaces: [it-clicheck-research]
- name: infer
  nodeSelector: {matchLabels: {clicheck.ml-scheduler.io/pool: infer}}
rules:
- name: inference-l4
  match:
    namespaces: [it-clicheck-infer]
    podSelector: {matchLabels: {ml-scheduler.io/workload: inference}}
  gpuModels: [NVIDIA-L4-CLICHECK]
- name: inference
  match: {namespaces: [it-clicheck-infer]}
  pools: [infer]
- name: research
  match: {namespaces: [it-clicheck-research]}
  pools: [train]
`

// TestCLIPolicyCheck: `kubectl mlsched policy check --live` on the real
// apiserver reports every semantic finding with its field path and exits 3
// on a policy with errors, and exits 0 on a clean one.
func TestCLIPolicyCheck(t *testing.T) {
	tc := newCase(t, "clicheck", clicheckResearch, clicheckInfer)
	tc.nodes(
		gpuNode("clicheck-a100-0", "NVIDIA-A100-CLICHECK", 8, map[string]string{clicheckPool: "train"}),
		gpuNode("clicheck-a100-1", "NVIDIA-A100-CLICHECK", 8, map[string]string{clicheckPool: "train"}),
		gpuNode("clicheck-l4-0", "NVIDIA-L4-CLICHECK", 2, map[string]string{clicheckPool: "infer"}),
		gpuNode("clicheck-l4-1", "NVIDIA-L4-CLICHECK", 2, map[string]string{clicheckPool: "infer"}),
	)
	if _, err := tc.c.CoreV1().Namespaces().Get(tc.ctx, clicheckGhost, metav1.GetOptions{}); err == nil {
		t.Fatalf("namespace %s exists; the test needs it not to", clicheckGhost)
	}
	// The scheduler accepts the policy, and with it in force the 4-GPU pod
	// stays pending: the check's error is what the cluster does.
	hash := tc.policy(clicheckEveryFinding)
	tc.pod(cluster.PodSpec{Name: "big", Namespace: clicheckInfer, CPU: "1", GPUs: 4})
	tc.pending(clicheckInfer, "big")

	dir := t.TempDir()
	every := filepath.Join(dir, "every-finding.yaml")
	clean := filepath.Join(dir, "clean.yaml")
	for path, text := range map[string]string{every: clicheckEveryFinding, clean: clicheckClean} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	r := runCLI(t, "policy", "check", "-f", every, "--live")
	if r.code != 3 {
		t.Fatalf("exit code %d, want 3 (the policy has errors)", r.code)
	}
	wantLines := []string{
		`ERROR pools[1].ownerNamespaces: pool "all-gpus" (owners [it-clicheck-infer, it-clicheck-research]) and pools[0] "train" (owners [it-clicheck-ghost, it-clicheck-research]) share 2 nodes (clicheck-a100-0, clicheck-a100-1): ownership there is the union, so pods of [it-clicheck-infer] may use those nodes of pool "train", and pods of [it-clicheck-ghost] those of pool "all-gpus"`,
		`ERROR rules[0].pools: pending pod it-clicheck-infer/big asks 4 GPUs, but the nodes rule "inference" admits it to have at most 2 (pools [infer]); node clicheck-a100-0 has 8 GPUs, but it is in none of the rule's pools`,
		`WARNING rules[1].match: rule "inference-h100" is shadowed: every pod it matches is matched first by rules[0] "inference"`,
		`WARNING pools[3].nodeSelector: pool "h100" selects none of the `,
		`WARNING pools[2].nodeSelector: pool "infer" (any namespace) shares 2 nodes (clicheck-l4-0, clicheck-l4-1) with pools[1] "all-gpus", owned by [it-clicheck-infer, it-clicheck-research]`,
		`WARNING rules[1].gpuModels[0]: no node has GPU model "NVIDIA-H100-CLICHECK" (label nvidia.com/gpu.product; models present: `,
		`WARNING pools[0].ownerNamespaces[1]: it-clicheck-ghost: namespace does not exist`,
		"policy " + every + " (hash " + hash + "): accepted by the scheduler's validation; 2 errors, 5 warnings",
		"cluster: live cluster ",
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(wantLines) {
		t.Fatalf("%d lines of output, want %d:\n%s", len(lines), len(wantLines), r.stdout)
	}
	for i, want := range wantLines {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d:\n  %s\nwant it to start with\n  %s", i+1, lines[i], want)
		}
	}
	if !strings.Contains(r.stderr, "policy check failed: 2 errors") {
		t.Errorf("stderr %q lacks the failure", r.stderr)
	}

	// -o json: the same findings, as a structure a CI job reads.
	r = runCLI(t, "policy", "check", "-f", every, "--live", "-o", "json")
	var rep policycheck.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("-o json: %v", err)
	}
	fields := map[string]policycheck.Severity{}
	for _, f := range rep.Findings {
		fields[f.Field] = f.Severity
	}
	for field, sev := range map[string]policycheck.Severity{
		"pools[1].ownerNamespaces": policycheck.SeverityError, "rules[0].pools": policycheck.SeverityError,
		"rules[1].match": policycheck.SeverityWarning, "pools[3].nodeSelector": policycheck.SeverityWarning,
		"rules[1].gpuModels[0]": policycheck.SeverityWarning, "pools[0].ownerNamespaces[1]": policycheck.SeverityWarning,
	} {
		if fields[field] != sev {
			t.Errorf("-o json: %s has severity %q, want %q (findings %+v)", field, fields[field], sev, rep.Findings)
		}
	}
	if r.code != 3 || rep.Hash != hash || rep.Errors != 2 || rep.Warnings != 5 || !rep.Accepted {
		t.Errorf("-o json: exit %d, report %+v", r.code, rep)
	}

	// The clean policy: exit 0, even with --strict. Only the pending pod
	// would still be short of GPUs under it, so it goes first.
	if err := tc.c.CoreV1().Pods(clicheckInfer).Delete(tc.ctx, "big", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "policy", "check", "-f", clean, "--live", "--strict")
	if r.code != 0 || !strings.Contains(r.stdout, "0 errors, 0 warnings") {
		t.Fatalf("clean policy: exit %d, want 0 and no finding:\n%s", r.code, r.stdout)
	}
	t.Logf("PROVED: policy check --live on the real apiserver reports, each with its field path, a pool selecting no node (pools[3].nodeSelector), pools sharing nodes whose ownership conflicts (ERROR pools[1].ownerNamespaces: 2 nodes named) and an owned pool overlapping a shared one, a GPU model no node has (rules[1].gpuModels[0]), a shadowed rule (rules[1].match), an owner namespace that does not exist (pools[0].ownerNamespaces[1]) and a rule confining a pending 4-GPU pod to 2-GPU nodes (ERROR rules[0].pools, the pod the scheduler indeed keeps pending), exits 3 on it (text and -o json, hash %s = the one the scheduler reports in force), and exits 0 on the clean policy with --strict", hash)
}
