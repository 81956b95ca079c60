package controlplane_test

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

// TestRestart: an object written before each fault is read back after it,
// through the same URL and token, and the processes are new ones.
func TestRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(cp.Stop)
	client := cp.Client()
	url := cp.URL

	for _, tt := range []struct {
		name  string
		fault func() (*controlplane.Process, error)
	}{
		{"apiserver crash", func() (*controlplane.Process, error) {
			old := cp.APIServer
			_, err := cp.RestartAPIServer(ctx, controlplane.Crash, 0)
			return old, err
		}},
		{"apiserver graceful", func() (*controlplane.Process, error) {
			old := cp.APIServer
			_, err := cp.RestartAPIServer(ctx, controlplane.Graceful, 0)
			return old, err
		}},
		{"etcd crash", func() (*controlplane.Process, error) {
			old := cp.Etcd
			_, err := cp.RestartEtcd(ctx, controlplane.Crash, 2*time.Second)
			return old, err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cm := createConfigMap(ctx, t, client, tt.name)
			old, err := tt.fault()
			if err != nil {
				t.Fatal(err)
			}
			if done, _ := old.Exited(); !done {
				t.Fatalf("the old %s (pid %d) still runs", old.Name, old.Pid())
			}
			if cp.URL != url {
				t.Fatalf("URL changed from %s to %s", url, cp.URL)
			}
			got, err := client.CoreV1().ConfigMaps(metav1.NamespaceDefault).Get(ctx, cm.Name, metav1.GetOptions{})
			if err != nil || got.UID != cm.UID {
				t.Fatalf("ConfigMap written before the restart: %v (uid %v, want %v)", err, got.UID, cm.UID)
			}
		})
	}

	t.Run("freeze and thaw", func(t *testing.T) {
		if err := cp.FreezeAPIServer(); err != nil {
			t.Fatal(err)
		}
		short, done := context.WithTimeout(ctx, 2*time.Second)
		_, err := client.CoreV1().Namespaces().Get(short, metav1.NamespaceDefault, metav1.GetOptions{})
		done()
		if err == nil {
			t.Error("a frozen apiserver answered")
		}
		if err := cp.ThawAPIServer(); err != nil {
			t.Fatal(err)
		}
		if err := cp.WaitAPIServerReady(ctx); err != nil {
			t.Fatal(err)
		}
		createConfigMap(ctx, t, client, "after-thaw")
	})
}

func createConfigMap(ctx context.Context, t *testing.T, c kubernetes.Interface, name string) *v1.ConfigMap {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(metav1.NamespaceDefault).Create(ctx, &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "restart-"},
		Data:       map[string]string{"name": name},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a ConfigMap: %v", err)
	}
	return cm
}
