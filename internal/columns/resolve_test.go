package columns

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustParse(t *testing.T, e Entity, src string) *Mapping {
	t.Helper()
	m, err := Parse("m.yaml", []byte(src), e)
	require.NoError(t, err)
	return m
}

func TestResolve(t *testing.T) {
	type col struct {
		kind   Kind
		target string // Field or Attribute
	}
	tests := []struct {
		name   string
		e      Entity
		src    string
		header []string
		want   []col
	}{
		{name: "keep by default", e: EntityProfiles, src: "columns:\n  Kundennummer: integrationId\n  Alter: {target: Age, type: number}\n",
			header: []string{"Kundennummer", "Alter", "Name", "Tags:list"},
			want:   []col{{KindField, "integrationId"}, {KindAttribute, "Age"}, {KindDefault, ""}, {KindDefault, ""}}},
		{name: "ignore unmapped", e: EntityProfiles, src: "unmapped: ignore\ncolumns:\n  Kundennummer: integrationId\n",
			header: []string{"Name", "Kundennummer"},
			want:   []col{{KindIgnore, ""}, {KindField, "integrationId"}}},
		{name: "header matched trimmed, case-insensitively, BOM dropped", e: EntityProfiles, src: "columns:\n  Kundennummer: integrationId\n  Alter: Age\n",
			header: []string{"\ufeffKUNDENNUMMER", "  alter "},
			want:   []col{{KindField, "integrationId"}, {KindAttribute, "Age"}}},
		{name: "unnamed trailing column", e: EntityProfiles, src: "unmapped: error\ncolumns:\n  K: integrationId\n",
			header: []string{"K", "", " "},
			want:   []col{{KindField, "integrationId"}, {KindUnnamed, ""}, {KindUnnamed, ""}}},
		{name: "optional and ignored columns may be absent", e: EntityProfiles, src: "columns:\n  K: integrationId\n  F: {target: Branch, optional: true}\n  N: ignore\n",
			header: []string{"K"},
			want:   []col{{KindField, "integrationId"}}},
		{name: "mapped and kept columns that differ", e: EntityCatalog, src: "columns:\n  Artikel: sku\n  Farbe: Color\n",
			header: []string{"Artikel", "Farbe", "Size:number", "price"},
			want:   []col{{KindField, "sku"}, {KindAttribute, "Color"}, {KindDefault, ""}, {KindDefault, ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cols, err := mustParse(t, tc.e, tc.src).Resolve(tc.header)
			require.NoError(t, err)
			require.Len(t, cols, len(tc.header))
			var got []col
			for i, c := range cols {
				assert.Equal(t, i, c.Index)
				got = append(got, col{c.Kind, c.Field + c.Attribute})
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name   string
		e      Entity
		src    string
		header []string
		want   error
		column string
		line   int
		msg    string
	}{
		{name: "unmapped error lists every column", e: EntityProfiles, src: "unmapped: error\ncolumns:\n  K: integrationId\n",
			header: []string{"K", "Neu", "Auch neu"}, want: ErrUnmapped, column: "Neu", msg: `it does not name "Neu", "Auch neu"`},
		{name: "mapped column missing", e: EntityProfiles, src: "columns:\n  K: integrationId\n  Alter: Age\n",
			header: []string{"K"}, want: ErrMissing, column: "Alter", line: 3, msg: "optional: true"},
		{name: "header has a mapped column twice", e: EntityProfiles, src: "columns:\n  K: integrationId\n",
			header: []string{"K", "k "}, want: ErrDuplicate, column: "K", line: 2, msg: "columns 1 and 2"},
		{name: "kept attribute clashes with a mapped one", e: EntityProfiles, src: "columns:\n  K: integrationId\n  Alter: Age\n",
			header: []string{"K", "Alter", "Age:number"}, want: ErrDuplicate, column: "Age:number", msg: `column "Alter" already writes`},
		{name: "kept field clashes with a mapped one", e: EntityCatalog, src: "columns:\n  Artikel: sku\n",
			header: []string{"Artikel", "SKU"}, want: ErrDuplicate, column: "SKU"},
		{name: "kept column clashes with a constant", e: EntityProfiles, src: "columns:\n  K: integrationId\nconstants:\n  Source: crm\n",
			header: []string{"K", "Source"}, want: ErrDuplicate, column: "Source", msg: "the constant Source"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mustParse(t, tc.e, tc.src).Resolve(tc.header)
			assert.ErrorIs(t, err, tc.want)
			var me *Error
			require.True(t, errors.As(err, &me), "%v", err)
			assert.Equal(t, "m.yaml", me.File)
			assert.Equal(t, tc.column, me.Column)
			assert.Equal(t, tc.line, me.Line)
			if tc.msg != "" {
				assert.Contains(t, err.Error(), tc.msg)
			}
		})
	}
}
