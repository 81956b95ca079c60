package controlplane_test

import (
	"context"
	"debug/buildinfo"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

func TestControlPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	ctx := context.Background()
	begin := time.Now()
	cp, err := controlplane.Start(ctx, controlplane.Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(cp.Stop)
	t.Logf("control plane started in %v at %s", time.Since(begin).Round(time.Millisecond), cp.URL)

	client := cp.Client()
	version, err := client.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("ServerVersion: %v", err)
	}
	t.Logf("kube-apiserver version: %s", version.GitVersion)
	checkVersion(t, version.GitVersion, filepath.Join(cp.BinDir, "kube-apiserver"))

	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{"pool": "gpu"}},
		Status: v1.NodeStatus{Capacity: v1.ResourceList{
			v1.ResourceCPU:    resource.MustParse("8"),
			v1.ResourceMemory: resource.MustParse("32Gi"),
			v1.ResourcePods:   resource.MustParse("110"),
		}},
	}
	if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node: %v", err)
	}
	gotNode, err := client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get node: %v", err)
	}
	if gotNode.Labels["pool"] != "gpu" {
		t.Errorf("node labels = %v", gotNode.Labels)
	}

	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-1", Namespace: metav1.NamespaceDefault},
		Spec: v1.PodSpec{
			SchedulerName: "nobody", // no scheduler picks it up; we bind by hand
			Containers:    []v1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	pods := client.CoreV1().Pods(metav1.NamespaceDefault)
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	gotPod, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod: %v", err)
	}
	if gotPod.Spec.SchedulerName != "nobody" || gotPod.Spec.NodeName != "" {
		t.Fatalf("pod spec = scheduler %q node %q", gotPod.Spec.SchedulerName, gotPod.Spec.NodeName)
	}

	binding := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
		Target:     v1.ObjectReference{Kind: "Node", Name: node.Name},
	}
	if err := pods.Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	gotPod, err = pods.Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get bound pod: %v", err)
	}
	if gotPod.Spec.NodeName != node.Name {
		t.Errorf("spec.nodeName = %q, want %q", gotPod.Spec.NodeName, node.Name)
	}

	// RBAC is on: a fresh ServiceAccount authenticates but may not list nodes.
	saConfig, saKubeconfig, err := cp.ServiceAccountConfig(ctx, metav1.NamespaceDefault, "limited")
	if err != nil {
		t.Fatalf("ServiceAccountConfig: %v", err)
	}
	saClient, err := kubernetes.NewForConfig(saConfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := saClient.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing nodes as a bare ServiceAccount: err = %v, want Forbidden", err)
	}
	// The kubeconfig files load and point at the apiserver.
	for _, path := range []string{cp.Kubeconfig, saKubeconfig} {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil || cfg.Host != cp.URL {
			t.Errorf("kubeconfig %s: host %v, err %v", path, cfg, err)
		}
	}

	stopBegin := time.Now()
	cp.Stop()
	cp.Stop() // idempotent
	t.Logf("control plane stopped in %v", time.Since(stopBegin).Round(time.Millisecond))
	if exited, _ := cp.APIServer.Exited(); !exited {
		t.Errorf("kube-apiserver still running after Stop")
	}
	if exited, _ := cp.Etcd.Exited(); !exited {
		t.Errorf("etcd still running after Stop")
	}
}

// checkVersion expects gitVersion v1.37.2. A plain `go build` without the
// version ldflags reports the placeholder v0.0.0-master; then the module
// version recorded in the binary must be v1.37.2 instead.
func checkVersion(t *testing.T, gitVersion, binary string) {
	const want = "v1.37.2"
	if strings.HasPrefix(gitVersion, want) {
		return
	}
	if !strings.HasPrefix(gitVersion, "v0.0.0-master") {
		t.Fatalf("gitVersion = %q, want prefix %s", gitVersion, want)
	}
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		t.Fatalf("gitVersion = %q and no build info in %s: %v", gitVersion, binary, err)
	}
	mods := append([]*debug.Module{&info.Main}, info.Deps...)
	for _, m := range mods {
		if m.Path == "k8s.io/kubernetes" {
			if m.Version != want {
				t.Fatalf("%s built from k8s.io/kubernetes %s, want %s", binary, m.Version, want)
			}
			t.Logf("WARNING: %s was built without version ldflags (reports %q); "+
				"its build info says k8s.io/kubernetes %s", binary, gitVersion, m.Version)
			return
		}
	}
	t.Fatalf("gitVersion = %q and %s has no k8s.io/kubernetes module in its build info", gitVersion, binary)
}
