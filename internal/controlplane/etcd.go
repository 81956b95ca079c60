package controlplane

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// startEtcd runs a single-member etcd on loopback with its data in WorkDir.
func (c *ControlPlane) startEtcd(ctx context.Context, binary string) error {
	p, err := startWithPortRetry("etcd", func() (*Process, error) {
		clientPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		peerPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		clientURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
		peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
		p, err := StartProcess(ctx, "etcd", filepath.Join(c.WorkDir, "etcd.log"), binary,
			"--name=default",
			"--data-dir="+filepath.Join(c.WorkDir, "etcd-data"),
			"--listen-client-urls="+clientURL,
			"--advertise-client-urls="+clientURL,
			"--listen-peer-urls="+peerURL,
			"--initial-advertise-peer-urls="+peerURL,
			"--initial-cluster=default="+peerURL,
			// Throwaway data: durability only costs time on a busy disk.
			"--unsafe-no-fsync=true",
			"--quota-backend-bytes="+fmt.Sprint(2<<30),
			"--log-level=warn",
		)
		if err != nil {
			return nil, err
		}
		if err := waitHTTP(ctx, clientURL+"/health", false, "", p.Done(), 60*time.Second); err != nil {
			return nil, failed(p, err)
		}
		c.EtcdURL = clientURL
		return p, nil
	})
	c.Etcd = p
	return err
}
