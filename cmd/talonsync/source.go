package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
)

// source is the input of a sync: a file, stdin, or an object (s3://,
// gs://, https://), with its cheap fingerprint. Every read of an object is
// pinned to the version its fingerprint saw, so the head, the tail, a
// prefix hash and the rows all come from one version.
type source struct {
	loc   blob.Location
	store *blob.Store
	fp    checkpoint.Fingerprint
}

// openSource parses the input location and fingerprints it cheaply: the
// size and the first and last MiB (two range reads for an object), or for
// stdin its first MiB, peeked.
func (o *syncOptions) openSource(ctx context.Context) (*source, error) {
	loc, err := blob.Parse(o.Input)
	if err != nil {
		return nil, usage(fmt.Errorf("input: %w", err))
	}
	src := &source{loc: loc}
	if loc.Kind == blob.Stdin {
		o.log().Debug("waiting for the input on stdin")
		br := bufio.NewReaderSize(interruptible(ctx, o.io().In), checkpoint.FingerprintSpan)
		head, err := br.Peek(checkpoint.FingerprintSpan)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		src.store = blob.New(blob.Options{Stdin: br})
		src.fp = checkpoint.FingerprintStream(head)
		return src, nil
	}
	src.store = o.blobs()
	if loc.Kind == blob.File {
		if src.fp, err = checkpoint.FingerprintFile(loc.Path); err != nil {
			return nil, fmt.Errorf("open input: %w", err)
		}
		return src, nil
	}
	a, err := src.store.Stat(ctx, o.Input)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
	}
	v := a.Version
	span := int64(checkpoint.FingerprintSpan)
	head, err := src.store.ReadRange(ctx, o.Input, 0, span, v)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
	}
	if a.Size < 0 {
		// An https server that sends no length: a stream, like stdin.
		src.fp = checkpoint.FingerprintStream(head)
		src.fp.Version = string(v)
		return src, nil
	}
	tail := head
	if a.Size > span {
		if tail, err = src.store.ReadRange(ctx, o.Input, a.Size-span, span, v); err != nil {
			return nil, fmt.Errorf("open input: %w", err)
		}
	}
	src.fp = checkpoint.FingerprintOf(a.Size, head, tail, string(v))
	return src, nil
}

// stream reports whether the input can only be read once, from its start.
func (s *source) stream() bool { return s.fp.Size < 0 }

// opener is the Source.Open of the input's reader: a read of the
// location from an offset, pinned to the fingerprinted version.
func (s *source) opener(ctx context.Context) func(blob.OpenOptions) (*blob.Reader, error) {
	return func(o blob.OpenOptions) (*blob.Reader, error) {
		o.Version = blob.Generation(s.fp.Version)
		return s.store.Open(ctx, s.loc.String(), o)
	}
}

// hash returns a content hasher that has hashed the input's first n bytes
// (all of them for n < 0), read now, before the run decides anything.
func (s *source) hash(ctx context.Context, n int64) (*checkpoint.ContentHasher, error) {
	if n < 0 {
		n = s.fp.Size
	}
	h := checkpoint.NewContentHasher()
	if n == 0 {
		return h, nil
	}
	r, err := s.opener(ctx)(blob.OpenOptions{Length: n})
	if err != nil {
		return nil, fmt.Errorf("hash input: %w", err)
	}
	defer r.Close()
	if err := h.Fill(r); err != nil {
		return nil, fmt.Errorf("hash input: %w", err)
	}
	if got, _ := h.Sum(); got != n {
		return nil, fmt.Errorf("hash input: %s has %d bytes, not the %d it had a moment ago", s.loc.Redacted(), got, n)
	}
	return h, nil
}

// open opens the input for reading from start (a hint: the resume offset),
// with tap (nil without a checkpoint) seeing its raw bytes.
func (s *source) open(ctx context.Context, start int64, tap readers.Tap) (*readers.Input, error) {
	src := readers.Source{Name: s.loc.Redacted(), Open: s.opener(ctx)}
	if !s.stream() {
		src.Start = start
	}
	if tap != nil {
		src.Tap = tap
	}
	return readers.OpenSource(src)
}
