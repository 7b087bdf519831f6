package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// File is a state file of incremental sync in the snapshot format (see
// snapshot.go): per key, the Value of the net effect the API last
// confirmed and when. Open loads the entries, 24 bytes per key, without
// their strings.
//
// A writer holds path+".lock" (an flock) from OpenFile to Close. A run is
// Begin, then Compare / Invalidate / Confirm / Reject for the feed's keys,
// then Commit, which writes the new snapshot atomically. What the run
// changed is journaled in path+".journal" meanwhile, so a killed run is
// replayed by the next OpenFile: entries confirmed before the kill stay
// confirmed, and no entry claims a value that was invalidated and not
// confirmed again.
//
// A read-only File takes no lock, so state inspect works while a run holds
// it; it sees the last snapshot together with the running (or killed)
// run's journal.
//
// Compare, Invalidate, InvalidateAll, StaleKeys, CountStale, Each and
// Commit must be called from one goroutine; Confirm and Reject are safe to
// call from others at the same time.
type File struct {
	path string
	opts Options
	lock *os.File // nil when read-only
	snap *snapshot
	meta snapshotMeta

	dirty    bool // Commit must rewrite the snapshot: identity bound, file converted
	migrated bool

	j       *journal // the run in progress
	seen    bitmap   // snapshot entries the run's feed held
	cleared bool     // the run called InvalidateAll
	// stale: Commit rewrote the file, so snap is the previous one; the next
	// Begin loads the new one.
	stale bool
}

// fill sets the defaults of the new fields of Options.
func (o *Options) fill() {
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// OpenFile opens the state file at path. A writer (not opts.ReadOnly)
// creates it if missing (mode 0600), waits up to opts.Timeout for another
// writer's lock (ErrLocked), replays the journal a killed run left, and
// converts a file in the old bbolt format: the keys are kept (so prune
// and mirror keep working), their values are unknown, so the next run
// sends every key once; Migrated reports it. A read-only open of a missing
// file answers an error matching fs.ErrNotExist, and of an old-format file
// one matching ErrOldFormat. A damaged file answers ErrCorrupt.
func OpenFile(path string, opts Options) (*File, error) {
	opts.fill()
	f := &File{path: path, opts: opts}
	if !opts.ReadOnly {
		lock, err := lockFile(path, opts.Timeout)
		if err != nil {
			return nil, err
		}
		f.lock = lock
		removeTemps(path)
	}
	if err := f.load(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// load reads the snapshot, the last-run file and, for a writer, replays a
// left journal.
func (f *File) load() error {
	snap, err := readSnapshot(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && (f.lock != nil || fileExists(journalPath(f.path))):
		// No snapshot yet; a reader may see a first run in progress.
		snap, err = emptySnapshot(), nil
	case errors.Is(err, ErrOldFormat) && f.lock != nil:
		if err = migrate(f.path, f.opts); err == nil {
			f.migrated = true
			snap, err = readSnapshot(f.path)
		}
	case errors.Is(err, ErrOldFormat):
		err = fmt.Errorf("open state %s: %w: a run with --state converts it (its keys are kept and each is sent once), or empty it with talonsync state reset --state %s --yes", f.path, err, f.path)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrOldFormat) {
			return err
		}
		return fmt.Errorf("open state %s: %w", f.path, err)
	}
	f.snap, f.meta = snap, snap.meta
	f.readLastRun()
	if f.lock != nil {
		return f.replay()
	}
	// A reader sees the run in progress, or a killed one, through its
	// journal; Each applies the records.
	if ji, ok, err := openJournal(f.path); err == nil && ji != nil {
		ji.f.Close()
		if ok && ji.h.gen == f.snap.h.gen {
			f.meta.Runs = max(f.meta.Runs, ji.h.run)
			if f.meta.Identity == nil {
				f.meta.Identity = ji.h.identity
			}
		}
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func emptySnapshot() *snapshot {
	s := &snapshot{}
	s.t.index()
	return s
}

// lastRunFile is the small file beside the snapshot that records the run
// counter and the last run, so that a run that changed nothing does not
// rewrite the snapshot.
type lastRunFile struct {
	Runs    uint64   `json:"runs"`
	LastRun *RunInfo `json:"last_run,omitempty"`
}

func lastRunPath(path string) string { return path + ".lastrun" }

// The files of a state at path, besides path itself (the snapshot) and
// path+".lock": a copy of a state elsewhere (in object storage) is these
// three files, laid out again by JournalPath and LastRunPath before
// OpenFile.

// JournalPath is the journal of a run of the state at path: present while
// a run goes, or after a run was killed.
func JournalPath(path string) string { return journalPath(path) }

// LastRunPath is the small file that records the run counter and the last
// run of the state at path, so that a run that changed nothing does not
// rewrite the snapshot. Commit writes it.
func LastRunPath(path string) string { return lastRunPath(path) }

// readLastRun merges the last-run file into f.meta; a missing or damaged
// one is ignored (the snapshot's copy stands).
func (f *File) readLastRun() {
	b, err := os.ReadFile(lastRunPath(f.path))
	if err != nil {
		return
	}
	var lr lastRunFile
	if json.Unmarshal(b, &lr) != nil {
		return
	}
	if lr.Runs >= f.meta.Runs {
		f.meta.Runs = lr.Runs
		if lr.LastRun != nil {
			f.meta.LastRun = lr.LastRun
		}
	}
}

// writeLastRun replaces the last-run file.
func (f *File) writeLastRun() error {
	b, err := json.Marshal(lastRunFile{Runs: f.meta.Runs, LastRun: f.meta.LastRun})
	if err != nil {
		return err
	}
	tmp := lastRunPath(f.path) + ".tmp"
	if err := writeFileSync(tmp, b); err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	if err := os.Rename(tmp, lastRunPath(f.path)); err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	return nil
}

func writeFileSync(path string, b []byte) error {
	fl, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = fl.Write(b)
	if err == nil {
		err = fl.Sync()
	}
	if cerr := fl.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeTemps removes snapshot files a killed write left behind.
func removeTemps(path string) {
	tmps, _ := filepath.Glob(path + ".tmp-*")
	for _, t := range tmps {
		os.Remove(t)
	}
}

// replay folds the journal of a killed run into a new snapshot and
// removes it. A journal of another generation was folded already.
func (f *File) replay() error {
	ji, ok, err := openJournal(f.path)
	if err != nil {
		return err
	}
	if ji == nil {
		return nil
	}
	defer ji.f.Close()
	if ok && ji.h.gen == f.snap.h.gen && (ji.chunks > 0 || ji.h.run > f.meta.Runs) {
		f.meta.Runs = max(f.meta.Runs, ji.h.run)
		if f.meta.Identity == nil {
			f.meta.Identity = ji.h.identity
		}
		if err := withJournal(ji, func(ch *changes) error { return f.rewrite(nil, ch, false) }); err != nil {
			return err
		}
		if err := f.reload(); err != nil {
			return err
		}
	}
	return removeJournal(f.path)
}

func removeJournal(path string) error {
	if err := os.Remove(journalPath(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove state journal: %w", err)
	}
	return nil
}

// rewrite writes the snapshot merged with ch (nil: none) as the next
// generation.
func (f *File) rewrite(seen bitmap, ch *changes, complete bool) error {
	w, err := newSnapWriter(f.path)
	if err != nil {
		return err
	}
	var count uint64
	err = merge(f.snap, seen, ch, complete, func(e entry, key []byte) error {
		count++
		return w.add(&e, key)
	})
	if err != nil {
		w.abort()
		return err
	}
	meta, err := json.Marshal(f.meta)
	if err != nil {
		w.abort()
		return err
	}
	return w.finish(f.snap.h.gen+1, count, meta)
}

// reload reads the snapshot again after a rewrite.
func (f *File) reload() error {
	snap, err := readSnapshot(f.path)
	if err != nil {
		return fmt.Errorf("open state %s: %w", f.path, err)
	}
	f.snap.close()
	f.snap, f.stale = snap, false
	return nil
}

// Close ends the use of f. A run that was not committed keeps its
// journal, as after a kill: the next writer's OpenFile replays it.
func (f *File) Close() error {
	var err error
	if f.j != nil {
		err = f.j.close()
		f.j = nil
	}
	if cerr := f.snap.close(); err == nil {
		err = cerr
	}
	if f.lock != nil {
		if cerr := f.lock.Close(); err == nil {
			err = cerr
		}
		f.lock = nil
	}
	return err
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Migrated reports whether OpenFile converted an old bbolt file.
func (f *File) Migrated() bool { return f.migrated }

// Len returns the number of keys of the last snapshot, without the
// changes of a run in progress.
func (f *File) Len() int {
	if f.stale && f.j == nil && f.reload() != nil {
		return 0
	}
	return f.snap.t.len()
}

// Identity returns the file's identity; ok is false when it has none yet.
func (f *File) Identity() (id Identity, ok bool) {
	if f.meta.Identity == nil {
		return Identity{}, false
	}
	return *f.meta.Identity, true
}

// Bind records id as the file's identity when it has none, and otherwise
// checks that it is the same; a different one is an error wrapping
// ErrMismatch that says what differs. Bind before Begin.
func (f *File) Bind(id Identity) error {
	if f.meta.Identity != nil {
		return f.meta.Identity.check(id)
	}
	if f.lock == nil {
		return errors.New("bind state: opened read-only")
	}
	f.meta.Identity = &id
	f.dirty = true
	return nil
}

// LastRun returns the last run recorded by Commit; ok is false if none.
func (f *File) LastRun() (info RunInfo, ok bool) {
	if f.meta.LastRun == nil {
		return RunInfo{}, false
	}
	return *f.meta.LastRun, true
}

// Reset empties the state file at path, whatever it holds (the old bbolt
// format included): no keys, no runs, no identity. It takes the writer's
// lock (ErrLocked while a run holds it) and removes the journal.
func Reset(path string, opts Options) error {
	opts.fill()
	lock, err := lockFile(path, opts.Timeout)
	if err != nil {
		return err
	}
	defer lock.Close()
	removeTemps(path)
	gen := uint64(0)
	if s, err := readSnapshot(path); err == nil {
		gen = s.h.gen
		s.close()
	}
	w, err := newSnapWriter(path)
	if err != nil {
		return err
	}
	meta, _ := json.Marshal(snapshotMeta{})
	if err := w.finish(gen+1, 0, meta); err != nil {
		return err
	}
	for _, p := range []string{journalPath(path), lastRunPath(path)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("reset state: %w", err)
		}
	}
	return nil
}
