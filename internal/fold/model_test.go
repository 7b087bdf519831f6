package fold

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

// This file is the row-by-row model of the catalog rules, written
// independently of the fold: it decodes actions with encoding/json and
// applies them one at a time, as the emulator does.

// mItem is a catalog item of the model; values are compact JSON.
type mItem struct {
	Price   *string
	Attrs   map[string]string
	Product *string
}

// mSKU is a SKU's state: absent, or present with an item.
type mSKU struct {
	Present bool
	Item    mItem
}

func (s mSKU) String() string {
	if !s.Present {
		return "absent"
	}
	p, pr := "-", "-"
	if s.Item.Price != nil {
		p = *s.Item.Price
	}
	if s.Item.Product != nil {
		pr = *s.Item.Product
	}
	return fmt.Sprintf("present(price %s, product %s, attrs %v)", p, pr, s.Item.Attrs)
}

func compactJSON(t testing.TB, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, json.Compact(&b, raw))
	return b.String()
}

// mAction is a decoded action.
type mAction struct {
	typ            talon.ActionType
	given          mItem
	replace, creat bool
}

// mApply applies one encoded action to s and reports whether the API
// rejects it (a 400 that leaves s as it was).
func mApply(t testing.TB, s mSKU, raw []byte) (mSKU, bool) {
	t.Helper()
	return mDecode(t, raw).apply(s)
}

// mDecode decodes an action.
func mDecode(t testing.TB, raw []byte) mAction {
	t.Helper()
	var a struct {
		Type    talon.ActionType `json:"type"`
		Payload struct {
			SKU               string                     `json:"sku"`
			Price             *json.RawMessage           `json:"price"`
			Attributes        map[string]json.RawMessage `json:"attributes"`
			Product           *json.RawMessage           `json:"product"`
			ReplaceIfExists   *bool                      `json:"replaceIfExists"`
			CreateIfNotExists *bool                      `json:"createIfNotExists"`
		} `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(raw, &a), "%s", raw)
	p := a.Payload
	given := mItem{}
	if p.Price != nil && string(*p.Price) != "null" {
		v := compactJSON(t, *p.Price)
		given.Price = &v
	}
	if p.Product != nil && string(*p.Product) != "null" {
		v := compactJSON(t, *p.Product)
		given.Product = &v
	}
	if len(p.Attributes) > 0 {
		given.Attrs = map[string]string{}
		for k, v := range p.Attributes {
			given.Attrs[k] = compactJSON(t, v)
		}
	}
	isTrue := func(b *bool) bool { return b != nil && *b }
	switch a.Type {
	case talon.ActionRemove, talon.ActionAdd, talon.ActionPatch:
	default:
		t.Fatalf("model: unexpected action %s", raw)
	}
	return mAction{typ: a.Type, given: given, replace: isTrue(p.ReplaceIfExists), creat: isTrue(p.CreateIfNotExists)}
}

// apply applies a to s and reports whether the API rejects it.
func (a mAction) apply(s mSKU) (mSKU, bool) {
	given := a.given
	switch a.typ {
	case talon.ActionRemove:
		return mSKU{}, false
	case talon.ActionAdd:
		if s.Present && !a.replace {
			return s, true
		}
		if s.Present && given.Price == nil {
			given.Price = s.Item.Price
		}
		return mSKU{Present: true, Item: given}, false
	case talon.ActionPatch:
		if !s.Present {
			if !a.creat {
				return s, true
			}
			return mSKU{Present: true, Item: given}, false
		}
		if given.Price == nil {
			given.Price = s.Item.Price
		}
		attrs := maps.Clone(s.Item.Attrs)
		if attrs == nil && len(given.Attrs) > 0 {
			attrs = map[string]string{}
		}
		maps.Copy(attrs, given.Attrs)
		given.Attrs = attrs
		return mSKU{Present: true, Item: given}, false
	}
	panic("unreachable")
}

// genAction returns a random encoded action of SKU sku, in the readers'
// layout, sometimes with the white space a JSONL attributes object may
// carry. Values come from small sets, so that rows often repeat them.
func genAction(rng *rand.Rand, sku string) talon.Item {
	typ := [...]string{"ADD_r", "ADD_r", "ADD_r", "ADD_n", "PATCH_c", "PATCH_c", "PATCH_n", "PATCH_n", "PATCH_n", "REMOVE", "REMOVE"}[rng.IntN(11)]
	var b strings.Builder
	t := talon.ActionType(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(typ, "_r"), "_n"), "_c"))
	fmt.Fprintf(&b, `{"type":"%s","payload":{"sku":%q`, t, sku)
	if t != talon.ActionRemove {
		if rng.IntN(2) == 0 {
			fmt.Fprintf(&b, `,"price":%s`, [...]string{"1", "2.5", "7"}[rng.IntN(3)])
		}
		if rng.IntN(2) == 0 {
			fmt.Fprintf(&b, `,"product":{"name":"P%d"}`, rng.IntN(2))
		}
		var attrs []string
		for _, name := range []string{"A", "B", "C"} {
			if rng.IntN(2) == 0 {
				// No null: the readers reject a null attribute value
				// (the spec has none), so the fold never sees one.
				v := [...]string{"1", "2", `"x"`, `"y"`, "[1, 2]"}[rng.IntN(5)]
				attrs = append(attrs, fmt.Sprintf(`"%s":%s`, name, v))
			}
		}
		rng.Shuffle(len(attrs), func(i, j int) { attrs[i], attrs[j] = attrs[j], attrs[i] })
		if len(attrs) > 0 {
			if rng.IntN(4) == 0 {
				fmt.Fprintf(&b, `,"attributes":{ %s }`, strings.Join(attrs, " , "))
			} else {
				fmt.Fprintf(&b, `,"attributes":{%s}`, strings.Join(attrs, ","))
			}
		}
	}
	switch typ {
	case "ADD_r":
		b.WriteString(`,"replaceIfExists":true`)
	case "ADD_n":
		b.WriteString(`,"replaceIfExists":false`)
	case "PATCH_c":
		b.WriteString(`,"createIfNotExists":true`)
	case "PATCH_n":
		if rng.IntN(2) == 0 {
			b.WriteString(`,"createIfNotExists":false`)
		}
	}
	b.WriteString("}}")
	return talon.Item{Key: sku, Type: t, Remove: t == talon.ActionRemove, JSON: []byte(b.String())}
}

// genPrior returns a random present state.
func genPrior(rng *rand.Rand) mSKU {
	s := mSKU{Present: true}
	if rng.IntN(2) == 0 {
		p := [...]string{"1", "3"}[rng.IntN(2)]
		s.Item.Price = &p
	}
	if rng.IntN(2) == 0 {
		p := `{"name":"P9"}`
		s.Item.Product = &p
	}
	for _, name := range []string{"A", "B", "D"} {
		if rng.IntN(2) == 0 {
			if s.Item.Attrs == nil {
				s.Item.Attrs = map[string]string{}
			}
			s.Item.Attrs[name] = [...]string{"1", "9"}[rng.IntN(2)]
		}
	}
	return s
}

// runRows applies rows one by one and returns the final state and which
// rows were rejected.
func runRows(s mSKU, rows []mAction) (mSKU, []bool) {
	rej := make([]bool, len(rows))
	for i, r := range rows {
		s, rej[i] = r.apply(s)
	}
	return s, rej
}

// genAdjustment returns an ADD_PRICE_ADJUSTMENT of sku, which the fold
// sends as it is and the model does not know.
func genAdjustment(rng *rand.Rand, sku string) talon.Item {
	p := [...]string{"1", "4.5"}[rng.IntN(2)]
	return talon.Item{Key: sku, Type: talon.ActionAddPriceAdjustment, JSON: []byte(fmt.Sprintf(
		`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":%q,"adjustments":[{"priceType":"member","price":%s,"referenceId":"r%s"}]}}`, sku, p, p))}
}
