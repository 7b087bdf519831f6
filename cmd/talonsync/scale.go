package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/shard"
)

// scaleOptions are the options of a sync that runs at scale: sharded, with
// its files in object storage.
type scaleOptions struct {
	// Shard is --shard as given: "", "I/N" or "auto/N".
	Shard string
	// UploadInterval is the most time between two uploads of a checkpoint
	// or state in object storage.
	UploadInterval time.Duration

	// shard is the parsed --shard; the zero Spec for an unsharded run.
	shard shard.Spec
	// store opens every location but stdin; made on first use.
	store *blob.Store
}

// defaultUploadInterval is --upload-interval's default: a checkpoint in a
// bucket is at most this old when a pod dies.
const defaultUploadInterval = 30 * time.Second

func (o *syncOptions) addScaleFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Shard, "shard", "", "process only shard I of N of the rows, by key: I/N, or auto/N for $JOB_COMPLETION_INDEX (Kubernetes) or $"+shard.EnvIndex+"; {shard} in paths becomes I")
	fs.DurationVar(&o.UploadInterval, "upload-interval", o.UploadInterval, "most time between two uploads of a --checkpoint or --state in object storage (s3://, gs://)")
}

// applyShard parses --shard, checks and expands {shard} in the paths, and
// takes this shard's part of --rate.
func (o *syncOptions) applyShard() error {
	spec, err := shard.Parse(o.Shard, o.env.env)
	if err != nil {
		return usage(err)
	}
	o.shard = spec
	if err := spec.CheckPath("the input", o.Input, false); err != nil {
		return usage(err)
	}
	for _, p := range []struct {
		flag string
		v    *string
	}{{"--checkpoint", &o.Checkpoint}, {"--state", &o.State}, {"--rejects", &o.Rejects}, {"--report", &o.Report}} {
		if *p.v == "" {
			continue
		}
		if err := spec.CheckPath(p.flag, *p.v, true); err != nil {
			return usage(err)
		}
		*p.v = spec.Expand(*p.v)
	}
	o.Input = spec.Expand(o.Input)
	o.Rate = spec.Rate(o.Rate)
	if o.UploadInterval <= 0 {
		return usage(fmt.Errorf("--upload-interval must be positive, got %v", o.UploadInterval))
	}
	return nil
}

// owns is the readers' Options.Owns of this run: nil when unsharded.
func (o *syncOptions) owns() func(string) bool {
	if !o.shard.Sharded() {
		return nil
	}
	return o.shard.Owns
}

// shardSetting is the shard a checkpoint records: "" when unsharded.
func (o *syncOptions) shardSetting() string {
	if !o.shard.Sharded() {
		return ""
	}
	return o.shard.String()
}

// blobs is the store that opens the run's locations.
func (o *syncOptions) blobs() *blob.Store {
	if o.store == nil {
		o.store = blob.New(blob.Options{})
	}
	return o.store
}

// writeOutput replaces a whole output (a report) at loc: a local file
// atomically with mode, or an object.
func (o *syncOptions) writeOutput(loc string, data []byte, mode fs.FileMode) error {
	ctx, cancel := context.WithTimeout(context.Background(), uploadTimeout)
	defer cancel()
	_, err := o.blobs().Put(ctx, loc, bytes.NewReader(data), blob.PutOptions{Mode: mode, ContentType: "application/json"})
	return err
}

// upload makes the final uploads of a run that ended with runErr and
// returns the run's error: the lost ownership of its checkpoint when
// another run took it, else runErr, else the upload's error.
func (j *job) upload(runErr error) error {
	err := j.up.finish()
	switch {
	case j.up.lostErr():
		return j.up.lostError()
	case runErr != nil:
		if err != nil {
			j.log.Warn(err.Error())
		}
		return runErr
	}
	return err
}

// fill adds to each checkpoint what the run tracks beside the pipeline:
// the hash of the input bytes read so far, and the rows of other shards.
func (j *job) fill(rec *checkpoint.Record) {
	if j.st.hasher != nil {
		j.st.hasher.Into(&rec.Input)
	}
	rec.OtherShards = j.rd.OtherShards()
}

// fillReport adds the shard's figures to the report.
func (j *job) fillReport(rep *report) {
	rep.SkippedOtherShards = j.rd.OtherShards()
	if j.rloc.object() && rep.Rejected == 0 {
		rep.RejectsPath = "" // nothing was uploaded
	}
}

// checkLocations checks the output locations before anything is read: each
// parses and can be written, and a checkpoint and its rejects are both in
// object storage or both local, since a run resumed on another node needs
// both, and a local checkpoint is written at every commit while an
// object's rejects are uploaded at most every --upload-interval.
func (o *syncOptions) checkLocations() error {
	for _, p := range []struct{ flag, loc string }{{"--checkpoint", o.Checkpoint}, {"--state", o.State}, {"--rejects", o.Rejects}, {"--report", o.Report}} {
		if p.loc == "" {
			continue
		}
		l, err := blob.Parse(p.loc)
		if err != nil {
			return usage(fmt.Errorf("%s: %w", p.flag, err))
		}
		if !l.Writable() || (p.flag != "--report" && p.flag != "--rejects" && l.Kind == blob.HTTPS) {
			return usage(fmt.Errorf("%s %s cannot be written: use a path, s3:// or gs://", p.flag, l.Redacted()))
		}
	}
	if o.Checkpoint != "" && isObjectLocation(o.Checkpoint) != isObjectLocation(o.rejectsPath()) {
		return usage(fmt.Errorf("--checkpoint %s and --rejects %s must both be in object storage or both local: a resumed run needs the rejects the checkpoint counts (leave --rejects out to keep them beside the checkpoint)", o.Checkpoint, o.rejectsPath()))
	}
	return nil
}

// inputName is the input's name for telling its format: an https URL
// without its query (a presigned URL's signature) and fragment.
func (o *syncOptions) inputName() string {
	l, err := blob.Parse(o.Input)
	if err != nil || l.Kind != blob.HTTPS {
		return o.Input
	}
	name, _, _ := strings.Cut(l.URL, "?")
	name, _, _ = strings.Cut(name, "#")
	return name
}
