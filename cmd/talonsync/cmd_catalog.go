package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/talonsync/talonsync/internal/readers"
)

func newCatalogCmd(e *env) *cobra.Command {
	o := e.newSyncOptions(readers.EntityCatalog)
	cmd := &cobra.Command{
		Use:   "catalog --catalog-id ID [flags] FILE|-",
		Short: "Sync cart items into a catalog (syncCatalog)",
		Long: `Sync cart items into a catalog with syncCatalog.

CSV columns: sku (required), price (number), product (product name),
action (ADD, PATCH or REMOVE; default ADD), replaceIfExists, createIfNotExists;
every other column is an attribute, optionally typed: Color, Size:number.
ADD is sent with replaceIfExists=true unless the row says otherwise.
Note: the API sets product to null when a PATCH or a replacing ADD leaves
it out, so keep the product column filled when items have products.`,
		Args: exactlyOneInput,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.CatalogID <= 0 {
				return usage(errors.New("--catalog-id is required and must be a positive integer"))
			}
			o.Input = args[0]
			return runSync(cmd.Context(), o)
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().Int64Var(&o.CatalogID, "catalog-id", 0, "ID of the cart item catalog (required)")
	o.addPruneFlags(cmd.Flags(), "prune")
	cmd.Flags().BoolVar(&o.AllowBulk, "allow-bulk", false, "allow PATCH_MANY and REMOVE_MANY rows without filters, which touch every item of the catalog")
	return withExitCodes(cmd)
}
