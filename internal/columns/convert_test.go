package columns

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConvert(t *testing.T) {
	comma := Column{Type: TypeNumber, DecimalComma: true}
	date := Column{Type: TypeTime, Layout: "02.01.2006"}
	stamp := Column{Type: TypeTime, Layout: "02.01.2006 15:04"}
	zoned := Column{Type: TypeTime, Layout: "2006-01-02 15:04 -0700"}
	list := Column{Type: TypeList, Separator: ","}
	tests := []struct {
		name string
		col  Column
		cell string
		want string // "" means an error
	}{
		{"comma decimal", comma, "1,5", "1.5"},
		{"comma thousands", comma, "1.234.567,89", "1234567.89"},
		{"comma integer", comma, "1234", "1234"},
		{"comma grouped integer", comma, "12.000", "12000"},
		{"comma negative", comma, "-0,25", "-0.25"},
		{"comma plus and blanks", comma, " +3,0\t", "3.0"},
		{"comma space groups", comma, "1 234,5", "1234.5"},
		{"comma no-break space groups", comma, "1\u00a0234,5", "1234.5"},
		{"comma apostrophe groups", comma, "1'234", "1234"},
		{"comma zero", comma, "0,00", "0.00"},
		{"comma leading zeros", comma, "007", "7"},
		{"comma dot decimal refused", comma, "1.5", ""},
		{"comma bad group", comma, "1.23,4", ""},
		{"comma first group too long", comma, "1234.567", ""},
		{"comma mixed groups", comma, "1.234 567", ""},
		{"comma two commas", comma, "1,2,3", ""},
		{"comma nothing after", comma, "1,", ""},
		{"comma nothing before", comma, ",5", ""},
		{"comma words", comma, "zwölf", ""},
		{"comma exponent refused", comma, "1,5e3", ""},
		{"date", date, "27.11.1980", `1980-11-27T00:00:00Z`},
		{"date blanks", date, " 01.02.2015 ", `2015-02-01T00:00:00Z`},
		{"date invalid day", date, "30.02.2020", ""},
		{"date other layout", date, "1980-11-27", ""},
		{"date and time", stamp, "27.11.1980 13:45", `1980-11-27T13:45:00Z`},
		{"zoned", zoned, "2024-01-31 10:00 +0100", `2024-01-31T10:00:00+01:00`},
		{"list", list, "a,b,,c d", `["a","b","c d"]`},
		{"list escapes", list, `x"y,\`, `["x\"y","\\"]`},
		{"list escapes as the header type does", list, "<b>,a&b", `["<b>","a&b"]`},
		{"list empty", list, ",", `[]`},
		{"list invalid UTF-8", list, "a,\xff", ""},
		{"plain passes", Column{Type: TypeNumber}, "1,5", "1,5"},
		{"default separator passes", Column{Type: TypeList, Separator: "|"}, "a|b", "a|b"},
		{"price field with comma", Column{Kind: KindField, Field: "price", Type: TypeNumber, DecimalComma: true}, "12,90", "12.90"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("prefix:")
			out, err := tc.col.Convert(dst, tc.cell)
			if tc.want == "" {
				assert.ErrorIs(t, err, ErrValue)
				assert.Equal(t, "prefix:", string(out), "dst comes back unchanged")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "prefix:"+tc.want, string(out))
		})
	}
}

func TestNeedsConvert(t *testing.T) {
	assert.False(t, (&Column{Type: TypeNumber}).NeedsConvert())
	assert.False(t, (&Column{Type: TypeList, Separator: "|"}).NeedsConvert())
	assert.False(t, (&Column{Type: TypeTime}).NeedsConvert())
	assert.True(t, (&Column{Type: TypeNumber, DecimalComma: true}).NeedsConvert())
	assert.True(t, (&Column{Type: TypeTime, Layout: "02.01.2006"}).NeedsConvert())
	assert.True(t, (&Column{Type: TypeList, Separator: ";"}).NeedsConvert())
}

func TestCheckLayout(t *testing.T) {
	tests := []struct {
		layout string
		ok     bool
	}{
		{"02.01.2006", true},
		{"2.1.2006", true},
		{"01/02/2006", true},
		{"2006-01-02T15:04:05Z07:00", true},
		{"02.01.06", true},
		{"Jan 2, 2006", true},
		{"20060102", true},
		{"02.01.", false},
		{"01/2006", false},
		{"15:04", false},
		{"DD.MM.YYYY", false},
		{"", false},
		{"  ", false},
	}
	for _, tc := range tests {
		t.Run(tc.layout, func(t *testing.T) {
			err := CheckLayout(tc.layout)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrLayout)
			}
		})
	}
}

func BenchmarkConvert(b *testing.B) {
	cases := []struct {
		name string
		col  Column
		cell string
	}{
		{"comma", Column{Type: TypeNumber, DecimalComma: true}, "1.234.567,89"},
		{"layout", Column{Type: TypeTime, Layout: "02.01.2006"}, "27.11.1980"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			dst := make([]byte, 0, 64)
			for b.Loop() {
				var err error
				if dst, err = c.col.Convert(dst[:0], c.cell); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
