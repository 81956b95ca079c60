package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newExplainCommand is a placeholder until the verb is built (issue 9).
func newExplainCommand(root *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "explain",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("explain: not built yet") },
	}
}
