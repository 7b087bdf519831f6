package fold

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
)

// decodedProfile is a profile as encoding/json reads it; ok is false for
// anything that is not {"integrationId": string, "attributes": object|null}.
func decodedProfile(b []byte) (id string, attrs map[string]string, ok bool) {
	var p map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if dec.Decode(&p) != nil || dec.More() || p == nil {
		return "", nil, false
	}
	attrs = map[string]string{}
	for k, v := range p {
		switch k {
		case "integrationId":
			if json.Unmarshal(v, &id) != nil {
				return "", nil, false
			}
		case "attributes":
			if string(v) == "null" {
				continue
			}
			var a map[string]json.RawMessage
			if json.Unmarshal(v, &a) != nil || a == nil {
				return "", nil, false
			}
			for name, val := range a {
				var c bytes.Buffer
				if json.Compact(&c, val) != nil {
					return "", nil, false
				}
				attrs[name] = c.String()
			}
		default:
			return "", nil, false
		}
	}
	_, hasID := p["integrationId"]
	return id, attrs, hasID
}

// FuzzMergeProfile checks MergeProfile against encoding/json: for two
// profiles encoding/json reads, the merge succeeds and reads back as b's
// attributes on top of a's, with a's integrationId.
func FuzzMergeProfile(f *testing.F) {
	f.Add([]byte(`{"integrationId":"c1","attributes":{"A":1,"B":"x"}}`), []byte(`{"integrationId":"c1","attributes":{"B":2,"C":[1, {"d":null}]}}`))
	f.Add([]byte(`{ "attributes" : null , "integrationId" : "c\"1" }`), []byte(`{"integrationId":"c1"}`))
	f.Add([]byte(`{"integrationId":"c1","attributes":{"A":"\u00e9\\","A":true}}`), []byte(`{"integrationId":"c1","attributes":{}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		idA, attrsA, okA := decodedProfile(a)
		_, attrsB, okB := decodedProfile(b)
		got, err := MergeProfile(nil, a, b)
		if !okA || !okB {
			return // MergeProfile may accept or refuse what encoding/json refuses
		}
		if bytes.ContainsRune(a, 0xFFFD) || bytes.ContainsRune(b, 0xFFFD) || !json.Valid(a) || !json.Valid(b) {
			return
		}
		if err != nil {
			t.Fatalf("valid profiles refused: %v\n%s\n%s", err, a, b)
		}
		id, attrs, ok := decodedProfile(got)
		if !ok {
			t.Fatalf("merge is not a profile: %s", got)
		}
		want := maps.Clone(attrsA)
		maps.Copy(want, attrsB)
		if id != idA || !maps.Equal(attrs, want) {
			t.Fatalf("merge of\n%s\n%s\n= %s\nwant id %q attrs %v", a, b, got, idA, want)
		}
	})
}
