package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/talonsync/talonsync/internal/readers"
)

func newAudiencesCmd(e *env) *cobra.Command {
	o := e.newSyncOptions(readers.EntityAudiences)
	cmd := &cobra.Command{
		Use:   "audiences [--audience-id ID] [--action add|delete] [flags] FILE|-",
		Short: "Add or remove audience members (updateCustomerProfileAudiences)",
		Long: `Add profiles to audiences or remove them, with updateCustomerProfileAudiences.

CSV columns: profileIntegrationId (required), audienceId (integer, or
--audience-id for the whole file), action (add, or delete/remove, both sent
as delete; default --action).`,
		Args: exactlyOneInput,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch a := strings.ToLower(o.AudienceAction); a {
			case "add", "delete":
				o.AudienceAction = a
			case "remove":
				o.AudienceAction = "delete"
			default:
				return usage(fmt.Errorf("--action must be add or delete (or remove), got %q", o.AudienceAction))
			}
			if o.AudienceID < 0 {
				return usage(fmt.Errorf("--audience-id must be positive"))
			}
			o.Input = args[0]
			return runSync(cmd.Context(), o)
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().Int64Var(&o.AudienceID, "audience-id", 0, "audience of every row without an audienceId column")
	o.addPruneFlags(cmd.Flags(), "mirror")
	cmd.Flags().StringVar(&o.AudienceAction, "action", o.AudienceAction, "action of every row without an action column: add or delete")
	return withExitCodes(cmd)
}
