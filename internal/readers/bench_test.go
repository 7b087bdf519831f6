package readers

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// benchInput builds n rows of about 150 bytes.
func benchInput(n int, jsonl bool) []byte {
	var b bytes.Buffer
	if !jsonl {
		b.WriteString("integrationId,Name,Age:number,VIP:boolean,Signup:time,Tags:list\n")
	}
	for i := range n {
		if jsonl {
			fmt.Fprintf(&b, `{"integrationId":"customer-%08d","attributes":{"Name":"Customer Number %d","Age":%d,"VIP":%t,"Signup":"2024-01-%02dT10:00:00Z","Tags":["a","b"]}}`+"\n",
				i, i, 20+i%50, i%2 == 0, 1+i%28)
		} else {
			fmt.Fprintf(&b, "customer-%08d,Customer Number %d,%d,%t,2024-01-%02d,gold|silver\n", i, i, 20+i%50, i%2 == 0, 1+i%28)
		}
	}
	return b.Bytes()
}

func benchRead(b *testing.B, data []byte, opts Options) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	rows := 0
	for b.Loop() {
		in, err := Open("-", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		r, err := NewReader(in, opts)
		if err != nil {
			b.Fatal(err)
		}
		for {
			row, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil || row.Err != nil {
				b.Fatal(err, row.Err)
			}
			rows++
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkJSONLProfiles(b *testing.B) {
	benchRead(b, benchInput(10000, true), Options{Entity: EntityProfiles, Format: FormatJSONL})
}

func BenchmarkCSVProfilesTyped(b *testing.B) {
	benchRead(b, benchInput(10000, false), Options{Entity: EntityProfiles, Format: FormatCSV})
}

// benchCatalog builds n JSONL catalog lines: flat items with a product and
// attributes, raw PATCHes, and a filtered PATCH_MANY every 100 lines.
func benchCatalog(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		switch {
		case i%100 == 99:
			fmt.Fprintf(&b, `{"type":"PATCH_MANY","payload":{"filters":[{"attr":"Color","op":"EQ","value":"red"},{"attr":"Size","op":"GE","value":%d}],"attributes":{"Sale":true}}}`+"\n", i%50)
		case i%2 == 0:
			fmt.Fprintf(&b, `{"sku":"SKU-%08d","price":%d.90,"product":{"name":"Product %d"},"attributes":{"Color":"red","Size":%d,"Organic":true,"Tags":["a","b"]}}`+"\n", i, i%100, i%500, i%50)
		default:
			fmt.Fprintf(&b, `{"type":"PATCH","payload":{"sku":"SKU-%08d","price":%d.5,"product":{"name":"Product %d"},"createIfNotExists":true}}`+"\n", i, i%100, i%500)
		}
	}
	return b.Bytes()
}

func BenchmarkJSONLCatalog(b *testing.B) {
	benchRead(b, benchCatalog(10000), Options{Entity: EntityCatalog, Format: FormatJSONL})
}

func BenchmarkAppendValue(b *testing.B) {
	cases := []struct {
		typ attrType
		s   string
	}{
		{attrString, "Customer Number 12345"},
		{attrNumber, "42.5"},
		{attrBoolean, "yes"},
		{attrTime, "2024-01-31"},
		{attrTime, "2024-01-31T10:11:12+02:00"},
		{attrList, "gold|silver|bronze"},
	}
	for _, tc := range cases {
		b.Run(tc.typ.String(), func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 128)
			for b.Loop() {
				buf, _ = appendValue(buf[:0], tc.typ, tc.s)
			}
		})
	}
}
