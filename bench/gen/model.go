package main

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// The row types below carry both the gocsv header tags (with talonsync's
// type suffixes) and the JSON shapes talonsync reads. Pointer and custom
// types let a cell be empty: talonsync leaves an attribute as it is when its
// cell is empty, and real exports have gaps.

// profileRow is one customer profile.
type profileRow struct {
	IntegrationID string   `csv:"integrationId"`
	Name          string   `csv:"Name"`
	Age           *int     `csv:"Age:number"`
	VIP           *bool    `csv:"VIP:boolean"`
	SignupDate    cellTime `csv:"SignupDate:time"`
	Tags          cellList `csv:"Tags:list"`
}

// profileJSON is profileRow as a JSONL line.
type profileJSON struct {
	IntegrationID string       `json:"integrationId"`
	Attributes    profileAttrs `json:"attributes"`
}

type profileAttrs struct {
	Name       string   `json:"Name,omitempty"`
	Age        *int     `json:"Age,omitempty"`
	VIP        *bool    `json:"VIP,omitempty"`
	SignupDate string   `json:"SignupDate,omitempty"`
	Tags       []string `json:"Tags,omitempty"`
}

func (p *profileRow) json() profileJSON {
	return profileJSON{IntegrationID: p.IntegrationID, Attributes: profileAttrs{
		Name: p.Name, Age: p.Age, VIP: p.VIP, SignupDate: p.SignupDate.rfc3339(), Tags: p.Tags,
	}}
}

// productRow is one catalog action on a SKU.
type productRow struct {
	SKU        string   `csv:"sku"`
	Product    string   `csv:"product"`
	Price      cents    `csv:"price"`
	Action     string   `csv:"action"`
	Color      string   `csv:"Color"`
	Size       *int     `csv:"Size:number"`
	Organic    *bool    `csv:"Organic:boolean"`
	LaunchDate cellTime `csv:"LaunchDate:time"`
	Tags       cellList `csv:"Tags:list"`
}

// productJSON is productRow as a flat JSONL line.
type productJSON struct {
	SKU        string        `json:"sku"`
	Product    *productName  `json:"product,omitempty"`
	Price      jsonNumber    `json:"price,omitempty"`
	Action     string        `json:"action"`
	Attributes *productAttrs `json:"attributes,omitempty"`
}

type productName struct {
	Name string `json:"name"`
}

type productAttrs struct {
	Color      string   `json:"Color,omitempty"`
	Size       *int     `json:"Size,omitempty"`
	Organic    *bool    `json:"Organic,omitempty"`
	LaunchDate string   `json:"LaunchDate,omitempty"`
	Tags       []string `json:"Tags,omitempty"`
}

func (p *productRow) json() productJSON {
	j := productJSON{SKU: p.SKU, Action: p.Action}
	if p.Action == "REMOVE" {
		return j
	}
	if p.Product != "" {
		j.Product = &productName{Name: p.Product}
	}
	if p.Price > 0 {
		j.Price = jsonNumber(p.Price.String())
	}
	if p.Color != "" { // PATCH rows carry a price only
		j.Attributes = &productAttrs{Color: p.Color, Size: p.Size, Organic: p.Organic,
			LaunchDate: p.LaunchDate.rfc3339(), Tags: p.Tags}
	}
	return j
}

// membershipRow is one audience membership change.
type membershipRow struct {
	ProfileIntegrationID string `csv:"profileIntegrationId" json:"profileIntegrationId"`
	AudienceID           int    `csv:"audienceId" json:"audienceId"`
	Action               string `csv:"action" json:"action"`
}

// cellTime is a time cell: empty when zero, a bare date when dateOnly.
type cellTime struct {
	t        time.Time
	dateOnly bool
}

// MarshalCSV implements gocsv.TypeMarshaller.
func (c cellTime) MarshalCSV() (string, error) {
	switch {
	case c.t.IsZero():
		return "", nil
	case c.dateOnly:
		return c.t.Format(time.DateOnly), nil
	}
	return c.t.Format(time.RFC3339), nil
}

func (c cellTime) rfc3339() string {
	if c.t.IsZero() {
		return ""
	}
	return c.t.Format(time.RFC3339)
}

// cellList is a list cell, written as values separated by '|'.
type cellList []string

// MarshalCSV implements gocsv.TypeMarshaller.
func (l cellList) MarshalCSV() (string, error) { return strings.Join(l, "|"), nil }

// cents is a price; it is written with two decimals, as shops export it.
type cents int64

// MarshalCSV implements gocsv.TypeMarshaller.
func (c cents) MarshalCSV() (string, error) {
	if c <= 0 {
		return "", nil
	}
	return c.String(), nil
}

func (c cents) String() string {
	s := strconv.FormatInt(int64(c)/100, 10) + "."
	if r := int64(c) % 100; r < 10 {
		return s + "0" + strconv.FormatInt(r, 10)
	}
	return s + strconv.FormatInt(int64(c)%100, 10)
}

// jsonNumber is a number kept as text, like json.Number but omitted when "".
type jsonNumber string

// MarshalJSON implements json.Marshaler.
func (n jsonNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

var (
	firstNames = []string{"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Margaret", "Ken",
		"Dennis", "Frances", "John", "Radia", "Tim", "Sophie", "Linus", "Zoë", "José", "Małgorzata",
		"Niklaus", "Hedy", "Katherine", "Guido", "Rob", "Robert", "Anita", "Søren", "Yukihiro", "Bjarne"}
	lastNames = []string{"Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Hamilton",
		"Thompson", "Ritchie", "Allen", "McCarthy", "Perlman", "Berners-Lee", "Wilson", "Torvalds",
		"O'Neil", "Müller", "Kowalska", "Wirth", "Lamarr", "Johnson", "van Rossum", "Pike", "Griesemer",
		"Borg", "Kierkegaard", "Matsumoto", "Stroustrup"}
	suffixes    = []string{"Jr.", "Sr.", "PhD", "III"}
	profileTags = []string{"newsletter", "coffee", "tea", "loyalty-gold", "loyalty-silver", "app-user",
		"b2b", "student", "churn-risk", "referral", "black-friday", "eu", "us"}
	colors   = []string{"black", "white", "red", "green", "blue", "brown", "grey", "navy", "beige", "pink"}
	products = []string{"Espresso beans", "Filter coffee", "Green tea", "Black tea", "Oat milk",
		"Ceramic mug", "Travel mug", "Milk frother, handheld", "Pour-over kettle", "Grinder \"Pro\"",
		"Chai latte mix", "Cold brew bottle", "Paper filters", "Descaler"}
	productTags = []string{"coffee", "tea", "beans", "bulk", "accessories", "dairy-free", "organic",
		"gift", "sale", "new"}
	epoch = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
)

// source draws rows. Keys are sequential ("cust-000000042"); with
// probability dup a row reuses one of the last window keys instead, as an
// export of updates does. With keys > 0 every row's key is drawn uniformly
// from keys ids instead, so a key repeats anywhere in the file, as in a
// change log. With change > 0 that share of rows gets one value altered,
// decided by a generator of its own, so the file is the one of change 0
// but for those rows: the input of a rerun with a few changed rows.
type source struct {
	rng    *rand.Rand
	dup    float64
	window int
	next   int // the next fresh key index
	keys   int
	change float64
	chg    *rand.Rand
}

func newSource(o options) *source {
	seed := o.Seed
	return &source{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), dup: o.Dup, window: 20000,
		keys: o.Keys, change: o.Change, chg: rand.New(rand.NewPCG(seed^0xc4a11e, o.ChangeSeed))}
}

// key returns the key index of the next row.
func (s *source) key() int {
	if s.keys > 0 {
		return s.rng.IntN(s.keys)
	}
	if s.next > 0 && s.dup > 0 && s.rng.Float64() < s.dup {
		w := min(s.next, s.window)
		return s.next - 1 - s.rng.IntN(w)
	}
	s.next++
	return s.next - 1
}

// changed says whether this row gets a value altered (see source).
func (s *source) changed() bool { return s.change > 0 && s.chg.Float64() < s.change }

func (s *source) pick(list []string) string { return list[s.rng.IntN(len(list))] }

func (s *source) chance(p float64) bool { return s.rng.Float64() < p }

func (s *source) intp(lo, hi int) *int { v := lo + s.rng.IntN(hi-lo+1); return &v }

func (s *source) boolp(p float64) *bool { v := s.chance(p); return &v }

func (s *source) tags(list []string, max int) cellList {
	n := s.rng.IntN(max + 1)
	if n == 0 {
		return nil
	}
	// n distinct tags: consecutive entries from a random start (n is
	// smaller than the list).
	t := make(cellList, 0, n)
	for i := s.rng.IntN(len(list)); len(t) < n; i++ {
		t = append(t, list[i%len(list)])
	}
	return t
}

func (s *source) when() cellTime {
	d := time.Duration(s.rng.Int64N(int64(7 * 365 * 24 * time.Hour)))
	c := cellTime{t: epoch.Add(d).Truncate(time.Second), dateOnly: s.chance(0.5)}
	if c.dateOnly {
		c.t = c.t.Truncate(24 * time.Hour) // the same instant in CSV and JSONL
	}
	return c
}

func (s *source) profile() profileRow {
	k := s.key()
	p := profileRow{IntegrationID: "cust-" + pad9(k), Name: s.pick(firstNames) + " " + s.pick(lastNames)}
	if s.chance(0.03) {
		p.Name += ", " + s.pick(suffixes) // a comma: the CSV cell gets quoted
	}
	if !s.chance(0.05) {
		p.Age = s.intp(18, 90)
	}
	p.VIP = s.boolp(0.1)
	if !s.chance(0.05) {
		p.SignupDate = s.when()
	}
	p.Tags = s.tags(profileTags, 3)
	if s.changed() {
		p.Name += " (moved)"
	}
	return p
}

// product draws a catalog row; with mixed, a share of rows are PATCH and
// REMOVE, otherwise every row is ADD.
func (s *source) product(mixed bool) productRow {
	p := s.drawProduct(mixed)
	if s.changed() && p.Price > 0 {
		p.Price++
	}
	return p
}

func (s *source) drawProduct(mixed bool) productRow {
	k := s.key()
	p := productRow{SKU: "SKU-" + pad9(k), Action: "ADD"}
	if mixed {
		switch x := s.rng.Float64(); {
		case x < 0.02:
			p.Action = "REMOVE"
			return p
		case x < 0.10:
			p.Action = "PATCH"
			p.Price = cents(99 + s.rng.IntN(20000))
			return p
		}
	}
	p.Product = s.pick(products)
	p.Price = cents(99 + s.rng.IntN(20000))
	p.Color = s.pick(colors)
	if !s.chance(0.2) {
		p.Size = s.intp(1, 12)
	}
	p.Organic = s.boolp(0.3)
	if !s.chance(0.1) {
		p.LaunchDate = s.when()
	}
	p.Tags = s.tags(productTags, 3)
	return p
}

// membership draws an audience row. Key index k is profile k/3 in
// audience 1+k%3, so a profile is in up to three audiences.
func (s *source) membership() membershipRow {
	k := s.key()
	m := membershipRow{ProfileIntegrationID: "cust-" + pad9(k/3), AudienceID: 1 + k%3, Action: "add"}
	if s.chance(0.1) {
		m.Action = "delete"
	}
	if s.changed() { // the other action
		if m.Action == "add" {
			m.Action = "delete"
		} else {
			m.Action = "add"
		}
	}
	return m
}

// pad9 formats k with at least nine digits.
func pad9(k int) string {
	var b [20]byte
	s := strconv.AppendInt(b[:0], int64(k), 10)
	if len(s) >= 9 {
		return string(s)
	}
	return strings.Repeat("0", 9-len(s)) + string(s)
}
