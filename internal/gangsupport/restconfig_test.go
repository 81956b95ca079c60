package gangsupport

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func TestRESTConfig(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := func(name, server string) string {
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: server}
		cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t"}
		cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
		cfg.CurrentContext = "c"
		path := filepath.Join(dir, name)
		if err := clientcmd.WriteToFile(*cfg, path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	schedulerConfig := func(name, kubeconfig string) string {
		path := filepath.Join(dir, name)
		body := fmt.Sprintf("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: %q\n", kubeconfig)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	fromConfig := kubeconfig("from-config", "https://from-config:6443")
	fromFlag := kubeconfig("from-flag", "https://from-flag:6443")
	withKubeconfig := schedulerConfig("with.yaml", fromConfig)
	withoutKubeconfig := schedulerConfig("without.yaml", "")
	// Not in a pod: the in-cluster config is unavailable.
	t.Setenv("KUBERNETES_SERVICE_HOST", "")

	tests := []struct {
		name     string
		flags    Flags
		wantHost string
		wantErr  string
	}{
		{name: "--config: its clientConnection.kubeconfig", flags: Flags{Config: withKubeconfig}, wantHost: "https://from-config:6443"},
		{name: "--config wins over --kubeconfig, as in kube-scheduler", flags: Flags{Config: withKubeconfig, Kubeconfig: fromFlag}, wantHost: "https://from-config:6443"},
		{name: "--kubeconfig without --config", flags: Flags{Kubeconfig: fromFlag}, wantHost: "https://from-flag:6443"},
		{name: "--master overrides the kubeconfig's server", flags: Flags{Config: withKubeconfig, Master: "https://master:6443"}, wantHost: "https://master:6443"},
		{name: "--master alone", flags: Flags{Config: withoutKubeconfig, Master: "https://master:6443"}, wantHost: "https://master:6443"},
		{name: "no kubeconfig: in-cluster", flags: Flags{Config: withoutKubeconfig}, wantErr: "unable to load in-cluster configuration"},
		{name: "no flags at all: in-cluster", flags: Flags{}, wantErr: "unable to load in-cluster configuration"},
		{name: "unreadable --config", flags: Flags{Config: filepath.Join(dir, "missing.yaml")}, wantErr: "missing.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := RESTConfig(tc.flags)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Host != tc.wantHost {
				t.Errorf("host %q, want %q", cfg.Host, tc.wantHost)
			}
			if cfg.Timeout != requestTimeout || !strings.HasSuffix(cfg.UserAgent, "/ml-scheduler/gang-check") {
				t.Errorf("timeout %v, user agent %q", cfg.Timeout, cfg.UserAgent)
			}
		})
	}
}
