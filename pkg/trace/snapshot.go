package trace

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// Snapshot is a cluster state: nodes, the pods already running on them and
// the pods waiting to be scheduled.
type Snapshot struct {
	Nodes []*v1.Node
	// Running are the pods with spec.nodeName set, in file order (terminal
	// pods, phase Succeeded or Failed, are left out: they hold no resources).
	Running []*v1.Pod
	// Pending are the pods without spec.nodeName: the queue, by
	// creationTimestamp (stable: equal times keep file order).
	Pending []*v1.Pod
}

// strict decoding: unknown and duplicate fields are errors.
var snapshotDecoder = serializer.NewCodecFactory(clientgoscheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// LoadSnapshot reads a snapshot file (ReadSnapshot).
func LoadSnapshot(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadSnapshot(f, path)
}

// ReadSnapshot reads what `kubectl get nodes,pods -o yaml` (or -o json)
// prints: a v1 List of Nodes and Pods, or YAML documents each a Node, a
// Pod or such a List. Decoding is strict (unknown fields are errors) and
// other kinds are refused. file names the input in errors.
func ReadSnapshot(r io.Reader, file string) (*Snapshot, error) {
	docs, err := splitDocuments(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var (
		s       Snapshot
		pending []*v1.Pod
		nodes   = map[string]bool{}
		pods    = map[string]bool{}
	)
	add := func(obj runtime.Object, where string) error {
		switch o := obj.(type) {
		case *v1.Node:
			if o.Name == "" {
				return fmt.Errorf("%s: a Node without metadata.name", where)
			}
			if nodes[o.Name] {
				return fmt.Errorf("%s: Node %s appears twice", where, o.Name)
			}
			nodes[o.Name] = true
			s.Nodes = append(s.Nodes, o)
		case *v1.Pod:
			if o.Name == "" {
				return fmt.Errorf("%s: a Pod without metadata.name", where)
			}
			if o.Namespace == "" {
				o.Namespace = DefaultNamespace
			}
			key := o.Namespace + "/" + o.Name
			if pods[key] {
				return fmt.Errorf("%s: Pod %s appears twice", where, key)
			}
			pods[key] = true
			if o.Status.Phase == v1.PodSucceeded || o.Status.Phase == v1.PodFailed {
				return nil
			}
			if o.Spec.NodeName != "" {
				s.Running = append(s.Running, o)
			} else {
				pending = append(pending, o)
			}
		default:
			return fmt.Errorf("%s: kind %s: only Node and Pod (or a List of them) are read", where, obj.GetObjectKind().GroupVersionKind().Kind)
		}
		return nil
	}
	for i, d := range docs {
		where := fmt.Sprintf("%s:%d: document %d", file, d.line, i+1)
		obj, err := decode(d.data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		list, ok := obj.(*v1.List)
		if !ok {
			if err := add(obj, where); err != nil {
				return nil, err
			}
			continue
		}
		for j, item := range list.Items {
			iwhere := fmt.Sprintf("%s, items[%d]", where, j)
			obj := item.Object
			if obj == nil {
				if obj, err = decode(item.Raw); err != nil {
					return nil, fmt.Errorf("%s: %w", iwhere, err)
				}
			}
			if err := add(obj, iwhere); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range s.Running {
		if !nodes[p.Spec.NodeName] {
			return nil, fmt.Errorf("%s: Pod %s/%s runs on node %s, which is not in the snapshot", file, p.Namespace, p.Name, p.Spec.NodeName)
		}
	}
	if len(s.Nodes) == 0 {
		return nil, fmt.Errorf("%s: no Node in the snapshot", file)
	}
	sort.SliceStable(pending, func(i, j int) bool {
		return pending[i].CreationTimestamp.Before(&pending[j].CreationTimestamp)
	})
	s.Pending = pending
	return &s, nil
}

func decode(data []byte) (runtime.Object, error) {
	obj, gvk, err := snapshotDecoder.Decode(data, nil, nil)
	if err != nil {
		if gvk != nil && gvk.Kind != "" {
			return nil, fmt.Errorf("decoding %s: %w", gvk.Kind, err)
		}
		return nil, err
	}
	return obj, nil
}

type document struct {
	line int // 1-based line of the document's first line
	data []byte
}

var separator = regexp.MustCompile(`^---\s*$`)

// splitDocuments splits YAML on "---" lines, dropping empty documents and
// remembering where each starts.
func splitDocuments(r io.Reader) ([]document, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	var (
		docs []document
		cur  bytes.Buffer
		line int
		from = 1
	)
	flush := func() {
		if strings.TrimSpace(stripComments(cur.String())) != "" {
			docs = append(docs, document{line: from, data: append([]byte(nil), cur.Bytes()...)})
		}
		cur.Reset()
	}
	for sc.Scan() {
		line++
		if separator.Match(sc.Bytes()) {
			flush()
			from = line + 1
			continue
		}
		cur.Write(sc.Bytes())
		cur.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	flush()
	return docs, nil
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
