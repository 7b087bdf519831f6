package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/talonsync/talonsync/internal/columns"
	"github.com/talonsync/talonsync/internal/readers"
)

// inputFlags are the sync commands' flags for reading messy CSV exports:
// numbers with a decimal comma, and a column mapping.
type inputFlags struct {
	DecimalComma bool
	Columns      string

	// mapping is --columns, loaded by loadInput.
	mapping *columns.Mapping
}

func (f *inputFlags) addInputFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.DecimalComma, "decimal-comma", false, "CSV numbers (price, number columns) are written with a decimal comma: 12,50 and 1.234,56 (never guessed)")
	fs.StringVar(&f.Columns, "columns", "", "column mapping file, YAML or JSON: how the CSV's columns map to fields and attributes (start one with 'talonsync columns FILE')")
}

// loadInput checks the input flags against the format and loads the
// column mapping, before anything is opened or sent. A mapping that does
// not parse is a *columns.Error, which exits 2.
func (o *syncOptions) loadInput(format readers.Format) error {
	if o.Columns == "" {
		return nil
	}
	if format != readers.FormatCSV {
		return usage(fmt.Errorf("--columns maps the columns of a CSV file; %s is %v", o.Input, format))
	}
	m, err := columns.Load(o.Columns, columns.Entity(o.Entity.String()))
	if err != nil {
		return err
	}
	o.mapping = m
	return nil
}

// inputOptions sets the reader options of the input flags, and sends the
// reader's warnings to the log.
func (o *syncOptions) inputOptions(ro *readers.Options) {
	ro.DecimalComma = o.DecimalComma
	ro.Columns = o.mapping
	log := o.log()
	ro.Warn = func(w readers.Warning) {
		log.Warn(w.String(), slog.Group("input", slog.Int64("line", w.Line), slog.String("column", w.Column)))
	}
}
