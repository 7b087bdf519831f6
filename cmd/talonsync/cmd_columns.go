package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/talonsync/talonsync/internal/columns"
	"github.com/talonsync/talonsync/internal/readers"
)

// columnsOptions are the flags of talonsync columns.
type columnsOptions struct {
	Delimiter string
	Format    string
	Entity    string
	Rows      int
}

func newColumnsCmd(e *env) *cobra.Command {
	o := &columnsOptions{Delimiter: ",", Rows: 100}
	cmd := &cobra.Command{
		Use:   "columns [flags] FILE|-",
		Short: "Print a starting column mapping for a CSV export, to edit and pass with --columns",
		Long: `Print a column mapping for a CSV file, as YAML on stdout: for each column of
its header, a reserved field where the header spells one, else an attribute
named after the header, with a type inferred from the first rows (numbers,
numbers with a decimal comma, booleans, dates and times in common layouts,
lists). Comments say what each guess rests on and where it is ambiguous.
Edit the file, then load the export unchanged with --columns:

  talonsync columns --delimiter ';' export.csv > columns.yaml
  talonsync profiles --delimiter ';' --columns columns.yaml export.csv

The mapping says "unmapped: error", so a column the export gains later stops
the run instead of being sent unseen. Without --entity the entity is the one
whose key column the header has (sku, profileIntegrationId, integrationId),
else profiles.`,
		Args: exactlyOneInput,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runColumns(e, o, cmd.Flags(), args[0])
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Delimiter, "delimiter", o.Delimiter, `CSV delimiter, one character ("\t" or "tab" for tab; tab by default for .tsv files and --format tsv)`)
	fs.StringVar(&o.Format, "format", "", "input format: csv or tsv (default: from the file extension; csv for stdin)")
	fs.StringVar(&o.Entity, "entity", "", "what the file holds: catalog, profiles or audiences (default: from the header)")
	fs.IntVar(&o.Rows, "rows", o.Rows, "rows to infer the types from")
	return cmd
}

// runColumns reads the header and the first rows of input and prints the
// mapping Infer proposes.
func runColumns(e *env, o *columnsOptions, fs *pflag.FlagSet, input string) error {
	if o.Rows < 1 {
		return usage(fmt.Errorf("--rows must be at least 1, got %d", o.Rows))
	}
	// The sync commands' rules for --format and --delimiter.
	so := e.newSyncOptions(0)
	so.Input, so.Format, so.Delimiter, so.flags = input, o.Format, o.Delimiter, fs
	if so.Format == "" && input == "-" {
		so.Format = "csv"
	}
	format, err := so.format()
	if err != nil {
		return err
	}
	if format != readers.FormatCSV {
		return usage(fmt.Errorf("columns maps the columns of a CSV file; %s is %v, whose fields are named as the API names them", input, format))
	}
	delim, err := so.delimiter()
	if err != nil {
		return err
	}
	in, err := readers.Open(input, e.io.In)
	if err != nil {
		return fmt.Errorf("open input: %w", err)
	}
	defer in.Close()
	header, rows, err := readers.Sample(in, delim, o.Rows)
	if err != nil {
		return usage(fmt.Errorf("read %s: %w", input, err))
	}
	entity, why, err := columnsEntity(o.Entity, header)
	if err != nil {
		return err
	}
	m := columns.Infer(header, rows, entity)
	note := fmt.Sprintf("Proposed for %s from its header and %d rows; entity %s (%s).", input, len(rows), entity, why)
	if m.Comment != "" {
		note += "\n" + m.Comment
	}
	m.Comment = note
	return m.WriteYAML(e.io.Out)
}

// columnsEntity is --entity, or the entity whose key column the header
// has, else profiles; why says which.
func columnsEntity(flag string, header []string) (columns.Entity, string, error) {
	if flag != "" {
		ent := columns.Entity(flag)
		if !ent.Valid() {
			return "", "", usage(fmt.Errorf("--entity must be catalog, profiles or audiences, got %q", flag))
		}
		return ent, "from --entity", nil
	}
	for _, ent := range []columns.Entity{columns.EntityCatalog, columns.EntityAudiences, columns.EntityProfiles} {
		key := columns.ReservedFields(ent)[0]
		for _, h := range header {
			if f, ok := columns.Field(ent, h); ok && f == key {
				return ent, fmt.Sprintf("the header has %q; give --entity for another", h), nil
			}
		}
	}
	return columns.EntityProfiles, "no key column in the header: assumed; give --entity catalog or audiences for another", nil
}
