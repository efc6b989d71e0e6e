package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/portier-id/portier"
)

// usersTAP is `portier users tap UPN [--lifetime DURATION] [--one-time] [--json]`: a Temporary
// Access Pass, printed once on stdout and kept only hashed; and `--revoke`, which removes every
// pass of the user.
func (a *app) usersTAP() *cobra.Command {
	var lifetime time.Duration
	var oneTime, asJSON, revoke bool
	cmd := &cobra.Command{
		Use:   "tap UPN [--lifetime DURATION] [--one-time] [--json] | tap UPN --revoke",
		Short: "Create a Temporary Access Pass for a user who lost their second factor (printed once)",
		Args:  exactArgs(1, "UPN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(cmd.Context()); err != nil {
				return err
			}
			if revoke {
				if err := a.dir.RevokeTAPs(cmd.Context(), a.cliActor(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Revoked every Temporary Access Pass of %s.\n", args[0])
				return nil
			}
			tap, err := a.dir.CreateTAP(cmd.Context(), a.cliActor(), args[0], lifetime, oneTime)
			if err != nil {
				return err
			}
			if asJSON {
				return a.writeJSON(tap)
			}
			fmt.Fprintln(a.stdout, tap.Pass)
			use := "until it expires"
			if tap.OneTime {
				use = "once"
			}
			fmt.Fprintf(a.stderr, "Temporary Access Pass for %s: valid %s, until %s. It is not shown again.\n", args[0], use, tap.Expires.UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().DurationVar(&lifetime, "lifetime", portier.TAPDefaultLifetime, "how long the pass is valid (10m to 720h)")
	cmd.Flags().BoolVar(&oneTime, "one-time", false, "the pass signs in once only")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document (the pass in temporaryAccessPass)")
	cmd.Flags().BoolVar(&revoke, "revoke", false, "remove every pass of the user instead")
	return cmd
}
