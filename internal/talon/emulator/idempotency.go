package emulator

import "sync"

// idempotencyKeep is how many Idempotency-Keys the emulator remembers; the
// oldest is forgotten first. Stored answers never expire otherwise.
const idempotencyKeep = 100_000

// maxIdempotencyKeyLen is the documented limit of an Idempotency-Key.
const maxIdempotencyKeyLen = 255

// storedAnswer is the answer given to an applied request.
type storedAnswer struct {
	status int
	body   []byte
}

// idempotencyCache remembers the answers of applied requests by
// Idempotency-Key. It is safe for concurrent use.
type idempotencyCache struct {
	mu    sync.Mutex
	keep  int
	m     map[string]storedAnswer
	order []string // ring of the keys in m, oldest at next
	next  int
}

func newIdempotencyCache(keep int) idempotencyCache {
	return idempotencyCache{keep: keep, m: make(map[string]storedAnswer)}
}

func (c *idempotencyCache) get(key string) (storedAnswer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[key]
	return a, ok
}

func (c *idempotencyCache) put(key string, a storedAnswer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		c.m[key] = a
		return
	}
	if len(c.order) < c.keep {
		c.order = append(c.order, key)
	} else {
		delete(c.m, c.order[c.next])
		c.order[c.next] = key
		c.next = (c.next + 1) % c.keep
	}
	c.m[key] = a
}

func (c *idempotencyCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = make(map[string]storedAnswer)
	c.order, c.next = nil, 0
}
