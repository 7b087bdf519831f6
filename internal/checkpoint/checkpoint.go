// Package checkpoint holds the durable files that make a sync resumable,
// beside the pipeline (readers → chunker → workers → client) rather than in
// it: the checkpoint record (where to resume and which rows are done), the
// input's fingerprint, the lock against overlapping runs, and the rejects
// file. Every write that must survive a crash goes through a temp file,
// fsync, rename and an fsync of the directory.
package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// version is the version of the checkpoint file format.
const version = 1

// ErrMismatch is matched by the error Check returns when a checkpoint
// belongs to another input or to other settings.
var ErrMismatch = errors.New("checkpoint does not match this run")

// Record is the content of a checkpoint file. It is small: where to resume
// reading, which rows after that point are done, how long the rejects file
// is, and the counts so far.
type Record struct {
	Version int `json:"version"`
	// RunID stays the same across the runs that resume one another.
	RunID string `json:"run_id"`
	// Owner is set by each run to a token of its own, so that no two runs
	// ever write the same bytes: a checkpoint in object storage is written
	// on the condition that its generation (an S3 ETag, which derives from
	// the bytes) is the one the run last wrote.
	Owner string `json:"owner,omitempty"`
	// Input identifies the input; Settings the options that shape batches.
	Input    Fingerprint `json:"input"`
	Settings Settings    `json:"settings"`
	// Completed is set when a run finished every row.
	Completed bool     `json:"completed"`
	Progress  Progress `json:"progress"`
	// RejectsPath is the rejects file the rows rejected so far are in.
	RejectsPath string `json:"rejects_path"`
	// Counts are the totals over every run so far. Read is the number of
	// rows done (delivered + rejected + unchanged) at the time of the
	// checkpoint.
	Counts Counts `json:"counts"`
	// Elapsed is the sending time of all runs so far, in seconds.
	Elapsed float64 `json:"elapsed_seconds"`
	// OtherShards counts the rows of other shards that a sharded run
	// skipped, as far as it has read the input (all of them once
	// Completed).
	OtherShards int64 `json:"other_shards,omitempty"`
	// Runs counts the runs that wrote this checkpoint.
	Runs      int       `json:"runs"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Settings are the options that decide what the rows mean. A checkpoint is
// only valid for a run with the same ones (see Check). BatchSize and Lanes
// are recorded but may differ: a resumed run skips the rows that are done
// whatever batches they went in, and routes the rest again.
type Settings struct {
	Entity     string `json:"entity"`
	Format     string `json:"format"`
	Delimiter  string `json:"delimiter,omitempty"`
	CatalogID  int64  `json:"catalog_id,omitempty"`
	AudienceID int64  `json:"audience_id,omitempty"`
	Action     string `json:"action,omitempty"`
	BatchSize  int    `json:"batch_size"`
	Lanes      int    `json:"lanes"`
	// Shard is the --shard of a sharded run ("2/4"), which decides which
	// rows are read: "" for an unsharded run.
	Shard string `json:"shard,omitempty"`
}

// Same reports whether s and o mean the same rows: all but BatchSize and
// Lanes are equal.
func (s Settings) Same(o Settings) bool {
	s.BatchSize, s.Lanes = o.BatchSize, o.Lanes
	return s == o
}

func (s Settings) String() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// diff names the settings that differ between s, a checkpoint's, and now,
// this run's, by the flags that set them.
func (s Settings) diff(now Settings) string {
	var d []string
	add := func(flag string, was, is any) {
		if was != is {
			d = append(d, fmt.Sprintf("%s was %v, now %v", flag, was, is))
		}
	}
	add("the command", s.Entity, now.Entity)
	add("--format", s.Format, now.Format)
	add("--delimiter", strconv.Quote(s.Delimiter), strconv.Quote(now.Delimiter))
	add("--catalog-id", s.CatalogID, now.CatalogID)
	add("--audience-id", s.AudienceID, now.AudienceID)
	add("--action", s.Action, now.Action)
	return strings.Join(d, ", ")
}

// Read loads the checkpoint at path. A missing file returns an error that
// matches fs.ErrNotExist.
func Read(path string) (*Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(path, b)
}

// Check compares the checkpoint with this run's input and settings and
// returns an error matching ErrMismatch that says what differs.
func (c *Record) Check(in Fingerprint, s Settings) error {
	if !c.Settings.Same(s) {
		return fmt.Errorf("%w: %s", ErrMismatch, c.Settings.diff(s))
	}
	if !c.Input.Same(in) {
		return fmt.Errorf("%w: it was written for another input (%s), this run reads %s", ErrMismatch, c.Input, in)
	}
	return nil
}

// Write writes c to path atomically and durably: a temp file in the same
// directory, fsync, rename over path, fsync of the directory. A crash at
// any instant leaves either the old or the new checkpoint, never a torn
// one. The file gets mode 0600.
func Write(path string, c *Record) error {
	b, err := Encode(c)
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(path, b); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// Encode returns the checkpoint file's bytes for c, with the current
// format version set.
func Encode(c *Record) ([]byte, error) {
	c.Version = version
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode checkpoint: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode parses a checkpoint file's bytes; name is for messages.
func Decode(name string, b []byte) (*Record, error) {
	var c Record
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("checkpoint %s is not valid: %w", name, err)
	}
	if c.Version != version {
		return nil, fmt.Errorf("checkpoint %s has version %d, this talonsync reads version %d", name, c.Version, version)
	}
	return &c, nil
}

// WriteFileAtomic replaces path with data durably (temp file, fsync,
// rename, directory fsync), with mode 0600.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// RemoveStaleTemps removes temp files a killed run left beside path. They
// are never read: the checkpoint itself is only replaced by rename.
func RemoveStaleTemps(path string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*"))
	for _, m := range matches {
		os.Remove(m)
	}
}

// MarkCompleted records in the checkpoint at path that its input is
// finished, for a caller that had more to do after the run that wrote it
// (a prune phase).
func MarkCompleted(path string, now time.Time) error {
	c, err := Read(path)
	if err != nil {
		return err
	}
	c.Completed = true
	c.UpdatedAt = now.UTC()
	return Write(path, c)
}
