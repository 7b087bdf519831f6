package blob

import (
	"context"
	"errors"
	"io"
	"sync"
)

// Owned is one writer's hold on a whole object (a checkpoint, a state
// snapshot). It remembers the generation it last read or wrote, and every
// Save is conditional on it: of two writers that read one generation, the
// first to Save wins and the other gets ErrPreconditionFailed, then and on
// every later Save. It is safe for concurrent use; Saves are serialized.
type Owned struct {
	s   *Store
	loc string

	mu   sync.Mutex
	gen  Generation // "" while there is no object
	lost error      // the first precondition failure; sticky
}

// Own reads the object at loc into w and returns the hold on it; existed
// says whether there was one (if not, nothing is written to w, and the first
// Save creates it only if it still does not exist). Errors other than a
// missing object are returned as they are.
func (s *Store) Own(ctx context.Context, loc string, w io.Writer) (o *Owned, existed bool, err error) {
	g, err := s.Download(ctx, loc, w)
	if errors.Is(err, ErrNotExist) {
		return &Owned{s: s, loc: loc}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &Owned{s: s, loc: loc, gen: g}, true, nil
}

// Save writes body if the object is still at the generation last read or
// written through o. After a precondition failure o is lost: that Save and
// every later one return an error matching ErrPreconditionFailed.
func (o *Owned) Save(ctx context.Context, body io.ReadSeeker, opts PutOptions) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lost != nil {
		return o.lost
	}
	opts.If = IfMatch(o.gen)
	g, err := o.s.Put(ctx, o.loc, body, opts)
	if errors.Is(err, ErrPreconditionFailed) {
		o.lost = err
	}
	if err != nil {
		return err
	}
	o.gen = g
	return nil
}

// Generation is the generation last read or written ("" for none).
func (o *Owned) Generation() Generation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.gen
}

// Location is the object's location.
func (o *Owned) Location() string { return o.loc }
