package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/talonsync/talonsync/internal/talon"
)

// serveDiscard serves an API request in discard mode: the item count is
// taken by a streaming scan of the body and checked, faults apply, and
// nothing is decoded, kept or checked for conflicts. The answers have the
// right status and shape: syncCatalog returns a Catalog, silent=no profiles
// return {"integrationStates":[]}.
func (s *Server) serveDiscard(w http.ResponseWriter, r *http.Request, rt route, silent bool) {
	array := rt.ep.ArrayField()
	n, err := countItems(r.Body, array)
	if err != nil {
		s.fail(w, r, badRequest([]errEntry{ptrEntry("invalid body", err.Error(), "/"+array)}))
		return
	}
	if n == 0 || n > talon.MaxItems {
		s.fail(w, r, badRequest([]errEntry{ptrEntry("invalid item count",
			fmt.Sprintf("%q must hold 1 to %d items, got %d", array, talon.MaxItems, n), "/"+array)}))
		return
	}
	s.stats.received.Add(int64(n))
	plan := s.faults.plan()
	if !sleep(r.Context(), plan.delay) {
		s.stats.record(statusClientGone)
		return
	}
	if plan.status != 0 {
		s.writeFault(w, plan)
		return
	}
	s.stats.applied.Add(int64(n))
	if plan.cut {
		s.cut(w)
		return
	}
	switch {
	case rt.ep == talon.EndpointCatalog:
		s.write(w, http.StatusOK, []byte(`{"id":`+strconv.FormatInt(rt.catalogID, 10)+`,"accountId":1,"name":"catalog-`+strconv.FormatInt(rt.catalogID, 10)+`","description":"emulated catalog","version":0,"createdBy":1}`))
	case rt.ep == talon.EndpointProfiles && !silent:
		s.write(w, http.StatusOK, emptyStates)
	default:
		s.write(w, http.StatusNoContent, nil)
	}
}

var emptyStates = []byte(`{"integrationStates":[]}`)

var (
	errNoArray  = errors.New("the body holds no such array")
	errNotArray = errors.New("the field is not an array")
)

// scanBufs recycles the read buffers of countItems.
var scanBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// countItems counts the elements of the top-level array field of the JSON
// object read from r, without decoding it. It does not validate the JSON:
// a malformed body may yield any count.
func countItems(r io.Reader, field string) (int, error) {
	bp := scanBufs.Get().(*[]byte)
	defer scanBufs.Put(bp)
	c := itemCounter{field: field}
	for {
		n, err := r.Read(*bp)
		c.feed((*bp)[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	switch {
	case c.notArray:
		return 0, fmt.Errorf("%q: %w", field, errNotArray)
	case !c.found:
		return 0, fmt.Errorf("%q: %w", field, errNoArray)
	}
	return c.count, nil
}

// itemCounter is the state of countItems' byte scanner. Depth 1 is the
// top-level object; the elements of the wanted array are at depth 2.
type itemCounter struct {
	field     string
	depth     int
	inString  bool
	escaped   bool
	isKey     bool // the current string is a key of the top-level object
	keyPos    int  // bytes of field matched so far; -1 after a mismatch
	keyMatch  bool // the last top-level key was field
	expectKey bool // the next top-level string is a key
	valueNext bool // the next top-level value belongs to field
	inArray   bool // inside field's array
	commas    int
	nonEmpty  bool
	found     bool
	notArray  bool
	count     int
}

func (c *itemCounter) feed(b []byte) {
	for i := 0; i < len(b); i++ {
		if c.inString && !c.escaped && !c.isKey {
			// Skip the body of a string value in one step: most of a body is
			// string values.
			j := bytes.IndexAny(b[i:], `"\\`)
			if j < 0 {
				return
			}
			i += j
		}
		ch := b[i]
		if c.inString {
			switch {
			case c.escaped:
				c.escaped = false
				c.keyPos = -1 // keys with escapes never match
			case ch == '\\':
				c.escaped = true
			case ch == '"':
				c.inString = false
				if c.isKey {
					c.keyMatch = c.keyPos == len(c.field)
				}
			case c.isKey && c.keyPos >= 0:
				if c.keyPos < len(c.field) && c.field[c.keyPos] == ch {
					c.keyPos++
				} else {
					c.keyPos = -1
				}
			}
			continue
		}
		switch ch {
		case ' ', '\t', '\n', '\r':
			continue
		}
		if c.inArray && c.depth == 2 && ch != ']' {
			c.nonEmpty = true
		}
		if c.depth == 1 && c.valueNext {
			c.valueNext = false
			if ch == '[' {
				c.inArray, c.found, c.commas, c.nonEmpty = true, true, 0, false
			} else {
				c.notArray = true
			}
		}
		switch ch {
		case '"':
			c.inString = true
			c.isKey = c.depth == 1 && c.expectKey
			if c.isKey {
				c.keyPos, c.expectKey = 0, false
			}
		case ':':
			if c.depth == 1 {
				c.valueNext = c.keyMatch
				c.keyMatch = false
			}
		case ',':
			switch {
			case c.depth == 1:
				c.expectKey = true
			case c.depth == 2 && c.inArray:
				c.commas++
			}
		case '{', '[':
			c.depth++
			if c.depth == 1 && ch == '{' {
				c.expectKey = true
			}
		case '}', ']':
			if c.depth == 2 && c.inArray {
				c.inArray = false
				c.count = c.commas
				if c.nonEmpty {
					c.count++
				}
			}
			c.depth--
		}
	}
}
