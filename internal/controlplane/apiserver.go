package controlplane

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// startAPIServer runs kube-apiserver against c.EtcdURL with extraArgs
// (feature gates, runtime config), waits for /readyz and the default
// namespace, and fills URL, Token, Config, Kubeconfig and client.
func (c *ControlPlane) startAPIServer(ctx context.Context, binary string, extraArgs []string) error {
	saKey, err := writeServiceAccountKey(filepath.Join(c.WorkDir, "sa.key"))
	if err != nil {
		return err
	}
	if c.Token, err = randomToken(); err != nil {
		return err
	}
	tokenFile := filepath.Join(c.WorkDir, "tokens.csv")
	// Format: token,user,uid,"group1,group2".
	line := fmt.Sprintf("%s,admin,admin,\"system:masters\"\n", c.Token)
	if err := os.WriteFile(tokenFile, []byte(line), 0o600); err != nil {
		return err
	}

	p, err := startWithPortRetry("kube-apiserver", func() (*Process, error) {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		url := fmt.Sprintf("https://127.0.0.1:%d", port)
		args := append([]string{
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			fmt.Sprintf("--secure-port=%d", port),
			"--cert-dir=" + filepath.Join(c.WorkDir, "apiserver-certs"), // self-signed serving cert
			"--etcd-servers=" + c.EtcdURL,
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + saKey,
			"--service-account-signing-key-file=" + saKey,
			"--token-auth-file=" + tokenFile,
			"--authorization-mode=Node,RBAC",
			// No controller-manager mints ServiceAccounts, and nodes are fake.
			"--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
			"--service-cluster-ip-range=10.0.0.0/24",
			"--allow-privileged=true",
			// The lease reconciler refuses a loopback advertise address; the
			// "kubernetes" Service endpoints are not needed here anyway.
			"--endpoint-reconciler-type=none",
			// Keep it light on 2 shared cores; tests do their own rate limiting.
			"--enable-priority-and-fairness=false",
			"--profiling=false",
			"--v=1",
		}, extraArgs...)
		p, err := StartProcess(ctx, "kube-apiserver", filepath.Join(c.WorkDir, "kube-apiserver.log"), binary, args...)
		if err != nil {
			return nil, err
		}
		if err := waitHTTP(ctx, url+"/readyz", true, c.Token, p.Done(), time.Until(deadline(ctx))); err != nil {
			return nil, failed(p, err)
		}
		c.URL = url
		return p, nil
	})
	c.APIServer = p
	if err != nil {
		return err
	}

	c.Config = &rest.Config{
		Host:            c.URL,
		BearerToken:     c.Token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             500,
		Burst:           1000,
	}
	if c.client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}
	// /readyz can pass a moment before the system namespaces are written.
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := c.client.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		return failed(c.APIServer, fmt.Errorf("waiting for the default namespace: %w", err))
	}
	c.Kubeconfig = filepath.Join(c.WorkDir, "kubeconfig")
	return writeKubeconfig(c.Kubeconfig, c.URL, c.Token)
}

// deadline returns ctx's deadline (Start always sets one).
func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(3 * time.Minute)
}

// writeServiceAccountKey writes a fresh RSA private key as PEM; the apiserver
// derives the verifying public key from the same file.
func writeServiceAccountKey(path string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	return path, os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writeKubeconfig writes a kubeconfig with token auth; the serving cert is
// self-signed, so TLS verification is skipped.
func writeKubeconfig(path, server, token string) error {
	const name = "ml-scheduler-test"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: "user", Namespace: metav1.NamespaceDefault}
	cfg.CurrentContext = name
	return clientcmd.WriteToFile(*cfg, path)
}
