package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newPolicyCommand is a placeholder until the verb is built (issue 9).
func newPolicyCommand(root *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "policy",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("policy: not built yet") },
	}
}
