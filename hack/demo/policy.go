package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

const (
	policyNamespace = "ml-scheduler"
	policyName      = "ml-scheduler-policy"
	statusTimeout   = 30 * time.Second
)

// policyFile is a policy document of the demo and, if it is valid, the hash
// the scheduler will report for it (computed here with the same code).
type policyFile struct {
	name string
	text string
	hash string
	err  error
}

func readPolicy(dir, name string) (*policyFile, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	pf := &policyFile{name: name, text: string(data)}
	if c, err := policy.Load(data); err != nil {
		pf.err = err
	} else {
		pf.hash = c.Hash()
	}
	return pf, nil
}

// applyAndWait applies a valid policy and waits until the scheduler reports
// it active, returning how long that took.
func applyAndWait(ctx context.Context, client kubernetes.Interface, pf *policyFile) (time.Duration, error) {
	if pf.err != nil {
		return 0, fmt.Errorf("%s is invalid: %w", pf.name, pf.err)
	}
	start := time.Now()
	if err := cluster.ApplyPolicy(ctx, client, policyNamespace, policyName, pf.text); err != nil {
		return 0, fmt.Errorf("applying %s: %w", pf.name, err)
	}
	_, err := cluster.WaitPolicyStatus(ctx, client, policyNamespace, policyName, statusTimeout, func(s cluster.PolicyStatus) bool {
		return s.ActiveHash == pf.hash && s.LastError == ""
	})
	if err != nil {
		return 0, fmt.Errorf("%s not reported active: %w", pf.name, err)
	}
	return time.Since(start), nil
}

// lastEvent returns the newest ConfigMap Event with the reason that contains want.
func lastEvent(ctx context.Context, client kubernetes.Interface, reason, want string) (string, error) {
	var found string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, statusTimeout, true, func(ctx context.Context) (bool, error) {
		msgs, err := cluster.Events(ctx, client, policyNamespace, policyName, reason)
		if err != nil {
			return false, err
		}
		for _, m := range msgs {
			if strings.Contains(m, want) {
				found = m
			}
		}
		return found != "", nil
	})
	if err != nil {
		return "", fmt.Errorf("no %s Event on ConfigMap %s/%s mentioning %q within %v: %w", reason, policyNamespace, policyName, want, statusTimeout, err)
	}
	return found, nil
}
