package gangsupport

import (
	"fmt"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

// requestTimeout bounds one discovery request.
const requestTimeout = 10 * time.Second

// Flags are the kube-scheduler flags that choose its apiserver connection.
type Flags struct {
	Config     string // --config
	Kubeconfig string // --kubeconfig (deprecated; ignored with --config)
	Master     string // --master (overrides the kubeconfig's server)
}

// RESTConfig returns the connection the scheduler will use, chosen as
// kube-scheduler's options do: with --config, that file's
// clientConnection.kubeconfig, else --kubeconfig; --master overrides the
// server; with neither a kubeconfig nor --master, the in-cluster config.
func RESTConfig(f Flags) (*rest.Config, error) {
	kubeconfig := f.Kubeconfig
	if f.Config != "" {
		// The scheduler's own loader (decoding, defaulting), so the path is
		// the one it will use; the result is thrown away.
		cfg, err := options.LoadConfigFromFile(klog.Background(), f.Config)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f.Config, err)
		}
		kubeconfig = cfg.ClientConnection.Kubeconfig
	}
	var cfg *rest.Config
	var err error
	if kubeconfig == "" && f.Master == "" {
		// Directly, not through BuildConfigFromFlags, which would log the
		// scheduler's own "Neither --kubeconfig nor --master" warning twice.
		cfg, err = rest.InClusterConfig()
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags(f.Master, kubeconfig)
	}
	if err != nil {
		return nil, err
	}
	cfg.Timeout = requestTimeout
	return rest.AddUserAgent(cfg, "ml-scheduler/gang-check"), nil
}

// DiscoveryFor returns a discovery client on the scheduler's connection.
func DiscoveryFor(f Flags) (discovery.DiscoveryInterface, error) {
	cfg, err := RESTConfig(f)
	if err != nil {
		return nil, err
	}
	return discovery.NewDiscoveryClientForConfig(cfg)
}
