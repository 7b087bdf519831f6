package readers

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/talonsync/talonsync/internal/columns"
)

// BenchmarkCSVMapped reads a spreadsheet-style export through a column
// mapping: a decimal comma, a time layout, a list separator, an ignored
// column, an unnamed one and a constant.
func BenchmarkCSVMapped(b *testing.B) {
	var in bytes.Buffer
	in.WriteString("Kundennummer;Vorname;Geburtsdatum;Umsatz;Newsletter;Interessen;Notiz;\n")
	for i := range 10000 {
		fmt.Fprintf(&in, "K-%08d;Name %d;%02d.%02d.19%02d;%d.%03d,%02d;%d;Laufen,Kaffee;notiz %d;\n",
			i, i, 1+i%28, 1+i%12, 50+i%50, i%100, i%1000, i%100, i%2, i)
	}
	m, err := columns.Parse("m.yaml", []byte(`columns:
  Kundennummer: integrationId
  Vorname: FirstName
  Geburtsdatum: {target: Birthday, type: time, layout: "02.01.2006"}
  Umsatz: {target: Revenue, type: number, decimalComma: true}
  Newsletter: {target: Newsletter, type: boolean}
  Interessen: {target: Interests, type: list, separator: ","}
  Notiz: ignore
constants:
  Source: crm
`), columns.EntityProfiles)
	if err != nil {
		b.Fatal(err)
	}
	benchRead(b, in.Bytes(), Options{Entity: EntityProfiles, Format: FormatCSV, Delimiter: ';', Columns: m})
}
