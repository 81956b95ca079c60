package controlplane

import (
	"context"
	"fmt"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// ServiceAccountConfig returns a rest.Config and a kubeconfig file that
// authenticate as the ServiceAccount namespace/name (created if missing), for
// running components with least privilege. Without a controller-manager no
// token Secrets exist, so the token comes from the TokenRequest API. Grant the
// account its RBAC roles separately; until then it can do next to nothing.
func (c *ControlPlane) ServiceAccountConfig(ctx context.Context, namespace, name string) (*rest.Config, string, error) {
	sas := c.client.CoreV1().ServiceAccounts(namespace)
	sa := &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if _, err := sas.Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, "", fmt.Errorf("creating ServiceAccount %s/%s: %w", namespace, name, err)
	}
	day := int64(24 * 60 * 60)
	tr, err := sas.CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &day},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("requesting a token for %s/%s: %w", namespace, name, err)
	}
	cfg := rest.CopyConfig(c.Config)
	cfg.BearerToken = tr.Status.Token
	path := filepath.Join(c.WorkDir, fmt.Sprintf("kubeconfig-%s-%s", namespace, name))
	if err := writeKubeconfig(path, c.URL, cfg.BearerToken); err != nil {
		return nil, "", err
	}
	return cfg, path, nil
}
