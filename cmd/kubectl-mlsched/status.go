package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newStatusCommand is a placeholder until the verb is built (issue 9).
func newStatusCommand(root *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "status",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("status: not built yet") },
	}
}
