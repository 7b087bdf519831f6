package main

import (
	"github.com/spf13/cobra"

	"github.com/talonsync/talonsync/internal/readers"
)

func newProfilesCmd(e *env) *cobra.Command {
	o := e.newSyncOptions(readers.EntityProfiles)
	cmd := &cobra.Command{
		Use:   "profiles [flags] FILE|-",
		Short: "Create or update customer profiles (updateCustomerProfilesV2)",
		Long: `Create or update customer profiles with updateCustomerProfilesV2.

CSV columns: integrationId (required); every other column is an attribute,
optionally typed: Age:number, VIP:boolean, SignupDate:time, Tags:list.
Attributes merge: the ones a row gives are set, the others are kept.
An empty cell leaves the attribute as it is.`,
		Args: exactlyOneInput,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Input = args[0]
			return runSync(cmd.Context(), o)
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.Silent, "silent", o.Silent, "send silent=yes (204, no profiles in the answer); --silent=false asks for silent=no")
	return withExitCodes(cmd)
}
