package trace

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
)

const listSnapshot = `apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: v1
  kind: Node
  metadata:
    name: node-a
    labels: {nvidia.com/gpu.product: T4}
  status:
    allocatable: {cpu: "8", memory: 32Gi, pods: "110", nvidia.com/gpu: "2"}
- apiVersion: v1
  kind: Pod
  metadata: {name: late, namespace: ml, creationTimestamp: "2024-01-01T00:00:10Z"}
  spec:
    containers: [{name: c, image: pause}]
  status:
    phase: Pending
    conditions: [{type: PodScheduled, status: "False", reason: Unschedulable}]
- apiVersion: v1
  kind: Pod
  metadata: {name: running, namespace: ml, creationTimestamp: "2024-01-01T00:00:00Z"}
  spec:
    nodeName: node-a
    containers: [{name: c, image: pause}]
  status: {phase: Running}
- apiVersion: v1
  kind: Pod
  metadata: {name: early, creationTimestamp: "2024-01-01T00:00:05Z"}
  spec:
    containers: [{name: c, image: pause}]
- apiVersion: v1
  kind: Pod
  metadata: {name: same-time, creationTimestamp: "2024-01-01T00:00:05Z"}
  spec:
    containers: [{name: c, image: pause}]
- apiVersion: v1
  kind: Pod
  metadata: {name: done, creationTimestamp: "2024-01-01T00:00:00Z"}
  spec:
    nodeName: node-a
    containers: [{name: c, image: pause}]
  status: {phase: Succeeded}
`

func TestReadSnapshotList(t *testing.T) {
	s, err := ReadSnapshot(strings.NewReader(listSnapshot), "snap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 1 || s.Nodes[0].Name != "node-a" || s.Nodes[0].Labels["nvidia.com/gpu.product"] != "T4" {
		t.Errorf("nodes = %v", s.Nodes)
	}
	if len(s.Running) != 1 || s.Running[0].Name != "running" {
		t.Errorf("running = %v", names(s.Running))
	}
	if diff := cmp.Diff([]string{"default/early", "default/same-time", "ml/late"}, names(s.Pending)); diff != "" {
		t.Errorf("pending order (-want +got):\n%s", diff)
	}
}

func TestReadSnapshotDocuments(t *testing.T) {
	in := `# a comment
---
apiVersion: v1
kind: Node
metadata: {name: n1}
---
---
apiVersion: v1
kind: Pod
metadata: {name: p1, namespace: x}
spec: {containers: [{name: c, image: pause}]}
`
	s, err := ReadSnapshot(strings.NewReader(in), "snap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 1 || len(s.Pending) != 1 || len(s.Running) != 0 {
		t.Errorf("got %d nodes, %d pending, %d running", len(s.Nodes), len(s.Pending), len(s.Running))
	}
}

func TestReadSnapshotErrors(t *testing.T) {
	const node = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"
	tests := []struct {
		name, in, want string
	}{
		{"unknown field", node + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containerz: []}\n",
			`snap.yaml:5: document 2: decoding Pod: strict decoding error: unknown field "spec.containerz"`},
		{"other kind", node + "---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
			"snap.yaml:5: document 2: kind Service: only Node and Pod (or a List of them) are read"},
		{"unknown kind", "apiVersion: v9\nkind: Nope\n", "snap.yaml:1: document 1: "},
		{"duplicate node", node + "---\n" + node, "snap.yaml:5: document 2: Node n1 appears twice"},
		{"unknown node", node + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeName: n2, containers: [{name: c, image: i}]}\n",
			"snap.yaml: Pod default/p runs on node n2, which is not in the snapshot"},
		{"no nodes", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "snap.yaml: no Node in the snapshot"},
		{"list item", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata: {name: node1}\n  spec: {bogus: 1}\n",
			`snap.yaml:1: document 1, items[0]: decoding Node: strict decoding error: unknown field "spec.bogus"`},
		{"nameless", "apiVersion: v1\nkind: Node\nmetadata: {}\n", "snap.yaml:1: document 1: a Node without metadata.name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSnapshot(strings.NewReader(tc.in), "snap.yaml")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error\n  %s\nwant prefix\n  %s", err, tc.want)
			}
		})
	}
}

func names(pods []*v1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}
