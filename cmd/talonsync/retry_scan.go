package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
)

// maxListed is how many input rejects retry lists one by one.
const maxListed = 20

// rejectsScan is what a first pass over a rejects file found, before
// anything is sent: whether every line is a reject, what to send and where.
type rejectsScan struct {
	path  string
	api   int64 // rejects the API refused: their records are sent again
	input int64 // rejects of reading: listed and carried over
	// entity is the one entity of every line.
	entity readers.Entity
	// origin holds what every line records alike; a field that differs
	// between lines is left zero.
	origin   checkpoint.Origin
	catalogs map[int64]bool // catalogs of the API rejects of a catalog file
	// listed are the first maxListed input rejects.
	listed []checkpoint.Reject
}

// oldAPIReject matches the reason of an API reject in a rejects file written
// before talonsync recorded the source: "line 12: api 400: ...".
var oldAPIReject = regexp.MustCompile(`^line \d+: api \d{3}\b`)

// sourceOf is a reject's source, guessed from its reason for old files.
func sourceOf(rej checkpoint.Reject) string {
	switch {
	case rej.Source != "":
		return rej.Source
	case oldAPIReject.MatchString(rej.Error):
		return checkpoint.SourceAPI
	}
	return checkpoint.SourceInput
}

// parseEntity maps an entity name to its readers.Entity.
func parseEntity(s string) (readers.Entity, bool) {
	for _, e := range []readers.Entity{readers.EntityCatalog, readers.EntityProfiles, readers.EntityAudiences} {
		if s == e.String() {
			return e, true
		}
	}
	return 0, false
}

// eachReject calls fn with every non-blank line of the rejects file r,
// parsed, and its 1-based line number; blank lines are passed with a nil
// reject. A line that is not a reject is an error naming it.
func eachReject(r io.Reader, path string, fn func(n int64, rej *checkpoint.Reject) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := int64(1); ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s: %w", path, err)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			if ferr := fn(n, nil); ferr != nil {
				return ferr
			}
			continue
		}
		rej, perr := checkpoint.ParseReject(line)
		if perr != nil {
			return usage(fmt.Errorf("%s:%d: %w (a rejects file holds one JSON reject per line, as talonsync writes it)", path, n, perr))
		}
		if ferr := fn(n, &rej); ferr != nil {
			return ferr
		}
	}
}

// scanRejects reads the rejects file at path once: every line must be a
// reject of one entity (entityFlag, "" for the one the file records), and
// the API rejects of a catalog file must go to one catalog unless
// catalogFlag names it. Errors are usage errors, found before anything is
// sent.
func scanRejects(path, entityFlag string, catalogFlag int64) (*rejectsScan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open rejects file: %w", err)
	}
	defer f.Close()
	sc := &rejectsScan{path: path, catalogs: map[int64]bool{}}
	var flagEntity readers.Entity
	if entityFlag != "" {
		var ok bool
		if flagEntity, ok = parseEntity(entityFlag); !ok {
			return nil, usage(fmt.Errorf("--entity must be catalog, profiles or audiences, got %q", entityFlag))
		}
	}
	first := true
	err = eachReject(f, path, func(n int64, rej *checkpoint.Reject) error {
		if rej == nil {
			return nil
		}
		e, err := sc.entityOf(n, rej, flagEntity)
		if err != nil {
			return err
		}
		switch {
		case sc.entity == 0:
			sc.entity = e
		case e != sc.entity:
			return usage(fmt.Errorf("%s:%d: a %s reject in a file of %s rejects: retry one entity at a time (grep '\"entity\":\"%s\"' into a file of its own)", path, n, e, sc.entity, e))
		}
		if first {
			sc.origin, first = rej.Origin, false
		} else {
			sc.origin = commonOrigin(sc.origin, rej.Origin)
		}
		if sourceOf(*rej) == checkpoint.SourceInput {
			sc.input++
			if len(sc.listed) < maxListed {
				sc.listed = append(sc.listed, *rej)
			}
			return nil
		}
		sc.api++
		if e == readers.EntityCatalog {
			sc.catalogs[rej.CatalogID] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sc.entity == 0 {
		sc.entity = flagEntity
	}
	if sc.entity == 0 {
		return nil, usage(fmt.Errorf("%s holds no rejects: there is nothing to retry", path))
	}
	sc.origin.Entity = sc.entity.String()
	return sc, sc.resolveCatalog(catalogFlag)
}

// entityOf is the entity of the reject on line n: the one it records, or
// the --entity flag's for a line written before talonsync recorded it.
func (sc *rejectsScan) entityOf(n int64, rej *checkpoint.Reject, flag readers.Entity) (readers.Entity, error) {
	if rej.Entity == "" {
		if flag == 0 {
			return 0, usage(fmt.Errorf("%s:%d: the reject records no entity (a rejects file written before talonsync recorded it): give --entity catalog, profiles or audiences", sc.path, n))
		}
		return flag, nil
	}
	e, ok := parseEntity(rej.Entity)
	if !ok {
		return 0, usage(fmt.Errorf("%s:%d: unknown entity %q", sc.path, n, rej.Entity))
	}
	if flag != 0 && e != flag {
		return 0, usage(fmt.Errorf("%s:%d: --entity %s, but the reject is of %s", sc.path, n, flag, e))
	}
	return e, nil
}

// resolveCatalog sets the catalog the API rejects of a catalog file go to.
func (sc *rejectsScan) resolveCatalog(flag int64) error {
	if sc.entity != readers.EntityCatalog {
		if flag != 0 {
			return usage(fmt.Errorf("--catalog-id is for catalog rejects; %s holds %s rejects", sc.path, sc.entity))
		}
		return nil
	}
	if flag < 0 {
		return usage(errors.New("--catalog-id must be a positive integer"))
	}
	if flag > 0 {
		sc.origin.CatalogID = flag
		return nil
	}
	if sc.api == 0 {
		return nil
	}
	delete(sc.catalogs, 0)
	switch len(sc.catalogs) {
	case 0:
		return usage(fmt.Errorf("%s does not record the catalog its rows were sent to: give --catalog-id", sc.path))
	case 1:
		for id := range sc.catalogs {
			sc.origin.CatalogID = id
		}
		return nil
	}
	ids := make([]string, 0, len(sc.catalogs))
	for id := range sc.catalogs {
		ids = append(ids, fmt.Sprint(id))
	}
	return usage(fmt.Errorf("%s holds rejects of several catalogs (%s): give --catalog-id, or retry the lines of each catalog on their own", sc.path, strings.Join(ids, ", ")))
}

// commonOrigin keeps the fields a and b share and zeroes the others.
func commonOrigin(a, b checkpoint.Origin) checkpoint.Origin {
	if a.Entity != b.Entity {
		a.Entity = ""
	}
	if a.CatalogID != b.CatalogID {
		a.CatalogID = 0
	}
	if a.AudienceID != b.AudienceID {
		a.AudienceID = 0
	}
	if a.Action != b.Action {
		a.Action = ""
	}
	if a.Input != b.Input {
		a.Input = ""
	}
	if a.Format != b.Format {
		a.Format = ""
	}
	return a
}
