package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/state"
)

// Helpers for the tests of --state in object storage: they read the
// bucket's objects straight from the fake's backend, without the CLI's
// code, so that they check the layout rather than reuse it.

// keys lists the bucket's keys that start with prefix.
func (s *s3Server) keys(t *testing.T, prefix string) []string {
	t.Helper()
	p := gofakes3.NewPrefix(&prefix, nil)
	list, err := s.backend.ListBucket("bkt", &p, gofakes3.ListBucketPage{})
	require.NoError(t, err)
	var out []string
	for _, c := range list.Contents {
		out = append(out, c.Key)
	}
	return out
}

// manifest decodes the state manifest at key; ok is false when there is
// no object.
func (s *s3Server) manifest(t *testing.T, key string) (m stateManifest, ok bool) {
	t.Helper()
	b := s.get(t, key)
	if b == nil {
		return m, false
	}
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	return m, true
}

// objects returns the bytes of the bucket's objects whose keys start
// with prefix: what the bucket held at one moment.
func (s *s3Server) objects(t require.TestingT, prefix string) map[string][]byte {
	p := gofakes3.NewPrefix(&prefix, nil)
	list, err := s.backend.ListBucket("bkt", &p, gofakes3.ListBucketPage{})
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, c := range list.Contents {
		obj, err := s.backend.GetObject("bkt", c.Key, nil)
		if err != nil {
			continue // deleted meanwhile
		}
		b, err := io.ReadAll(obj.Contents)
		obj.Contents.Close()
		require.NoError(t, err)
		out[c.Key] = b
	}
	return out
}

// stateEntries reads the state whose manifest is at key as state inspect
// does: the keys the API holds, by key.
func (s *s3Server) stateEntries(t *testing.T, key string) map[string]state.KeyInfo {
	t.Helper()
	return bucketStateEntries(t, s.objects(t, path.Dir(key)+"/"), key)
}

// bucketStateEntries lays the state at key (its manifest) out in a new
// directory as a local state, from the objects the manifest names, and
// reads it read-only.
func bucketStateEntries(t *testing.T, objs map[string][]byte, key string) map[string]state.KeyInfo {
	t.Helper()
	var m stateManifest
	require.Contains(t, objs, key, "no state")
	require.NoError(t, json.Unmarshal(objs[key], &m))
	path := filepath.Join(t.TempDir(), "state")
	at := func(name string) string { return key[:strings.LastIndex(key, "/")+1] + name }
	if m.Snapshot != "" {
		b, ok := objs[at(m.Snapshot)]
		require.True(t, ok, "the manifest names %s", m.Snapshot)
		require.NoError(t, os.WriteFile(path, b, 0o600))
	}
	var journal []byte
	for _, seg := range m.Journal {
		b, ok := objs[at(seg)]
		require.True(t, ok, "the manifest names %s", seg)
		journal = append(journal, b...)
	}
	if journal != nil {
		require.NoError(t, os.WriteFile(state.JournalPath(path), journal, 0o600))
	}
	if m.Snapshot == "" && journal == nil {
		return map[string]state.KeyInfo{}
	}
	return stateEntries(t, path)
}

// stateRun is the flags of a catalog command of these tests, with its
// state in the bucket at state/feed.state.
func stateRun(s3 *s3Server, t *testing.T, input string, extra ...string) cli {
	args := []string{"catalog", "--catalog-id", "1", "--state", "s3://bkt/state/feed.state",
		"--batch-size", "50", "--workers", "1", "--max-retries", "20", "--progress", "never"}
	return cli{args: append(append(args, extra...), input), env: s3.env(t)}
}

// stateFeedV returns feed with every Color at version v.
func stateFeedV(f stateFeed, v int) stateFeed {
	out := make(stateFeed, len(f))
	for i, p := range f {
		p.color = fmt.Sprintf("c%d-%s", v, p.sku)
		out[i] = p
	}
	return out
}
