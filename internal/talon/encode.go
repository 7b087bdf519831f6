package talon

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"
)

// AppendBody appends the JSON request body for e and items to dst and returns
// the extended slice: {"actions":[...]}, {"customerProfiles":[...]} or
// {"data":[...]}, where the array is the items' JSON joined by commas. Each
// Item.JSON is copied verbatim and must be one valid JSON value. appendBody
// grows dst at most once and allocates nothing else. It is safe for
// concurrent use on distinct dst slices.
func AppendBody(dst []byte, e Endpoint, items []Item) []byte {
	field := e.ArrayField()
	n := len(`{"":[]}`) + len(field)
	for i := range items {
		n += len(items[i].JSON) + 1
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, `{"`...)
	dst = append(dst, field...)
	dst = append(dst, `":[`...)
	for i := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, items[i].JSON...)
	}
	return append(dst, "]}"...)
}

// idempotencyKey returns a deterministic key for a request body: the lower-case
// hex of its SHA-256 digest (64 characters, within the API's 255). Equal
// bodies get equal keys, so a re-sent profiles batch is recognised as a
// repeat for as long as the server keeps its answer (24 h).
func idempotencyKey(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// maxPooledBody bounds the buffers kept for reuse, so one huge batch does not
// pin its memory for the rest of the run.
const maxPooledBody = 4 << 20

var bodyPool = sync.Pool{New: func() any { return &pooledBody{buf: make([]byte, 0, 64<<10)} }}

// pooledBody is a request body buffer shared by every reader the request
// needs (the first send, redirects, transport rewinds). net/http may close a
// request body from its own goroutine after Client.Do returned, so the buffer
// goes back to the pool only when Send and every reader are done with it.
type pooledBody struct {
	buf  []byte
	refs atomic.Int32
}

// getPooledBody returns an empty buffer holding one reference, the caller's.
func getPooledBody() *pooledBody {
	p := bodyPool.Get().(*pooledBody)
	p.buf = p.buf[:0]
	p.refs.Store(1)
	return p
}

// release drops one reference and recycles the buffer after the last one.
func (p *pooledBody) release() {
	if p.refs.Add(-1) != 0 || cap(p.buf) > maxPooledBody {
		return
	}
	bodyPool.Put(p)
}

// newReader returns a reader over the buffer that holds a reference until it
// is closed.
func (p *pooledBody) newReader() io.ReadCloser {
	p.refs.Add(1)
	return &bodyReader{data: p.buf, pb: p}
}

var errBodyClosed = errors.New("request body closed")

// bodyReader reads a pooledBody. Its mutex orders a late Read after Close, so
// a reader never touches a buffer that was already recycled.
type bodyReader struct {
	mu   sync.Mutex
	data []byte
	off  int
	pb   *pooledBody
}

func (r *bodyReader) Read(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pb == nil {
		return 0, errBodyClosed
	}
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	n := copy(b, r.data[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Close() error {
	r.mu.Lock()
	pb := r.pb
	r.pb, r.data = nil, nil
	r.mu.Unlock()
	if pb != nil {
		pb.release()
	}
	return nil
}
