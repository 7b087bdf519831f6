package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// fingerprintSpan is how many bytes at each end of a file the fingerprint hashes.
const fingerprintSpan = 1 << 20

// FingerprintSpan is how many bytes at each end of an input the cheap part
// of a Fingerprint hashes; an object's head and tail are two range reads of
// this many bytes.
const FingerprintSpan = fingerprintSpan

// Fingerprint identifies an input. Its cheap part is the size and hashes of
// the first and last MiB, which tell most new exports from old ones in
// milliseconds whatever the size. Its content part is a hash of the input's
// raw bytes from the start, computed while a run reads them (see
// ContentHasher): Hashed bytes are covered, the whole input once a run read
// it to the end. A completed checkpoint skips an input only when its whole
// content is the same; an unfinished one resumes only when the bytes an
// earlier run read are the same. For stdin the size is -1 and only the head
// is hashed cheaply.
type Fingerprint struct {
	Size int64  `json:"size"`
	Head string `json:"head_sha256"`
	Tail string `json:"tail_sha256,omitempty"`
	// Version is the object's generation when the input is in object
	// storage (an S3 ETag, a GCS generation); "" for files and stdin. It is
	// not part of the identity: an object uploaded again with the same bytes
	// is the same input.
	Version string `json:"version,omitempty"`
	// Hashed is how many bytes from the start Content covers.
	Hashed int64 `json:"hashed,omitempty"`
	// Content is the xxh3-128 hash (hex) of the first Hashed raw bytes.
	Content string `json:"content_xxh3,omitempty"`
}

// Same reports whether two fingerprints have the same cheap part: size,
// head and tail. Inputs that differ there are different inputs; inputs that
// agree may still differ in the middle (see SameContent).
func (f Fingerprint) Same(o Fingerprint) bool {
	return f.Size == o.Size && f.Head == o.Head && f.Tail == o.Tail
}

// Whole reports whether Content covers the whole input.
func (f Fingerprint) Whole() bool { return f.Size >= 0 && f.Content != "" && f.Hashed == f.Size }

// SameContent reports whether f and o have the same cheap part and hash
// the same first n bytes, where n is o.Hashed and f.Hashed must equal it.
func (f Fingerprint) SameContent(o Fingerprint) bool {
	return f.Same(o) && o.Content != "" && f.Hashed == o.Hashed && f.Content == o.Content
}

func (f Fingerprint) String() string {
	if f.Size < 0 {
		return fmt.Sprintf("stream starting with sha256 %.12s", f.Head)
	}
	return fmt.Sprintf("%d bytes, sha256 head %.12s tail %.12s", f.Size, f.Head, f.Tail)
}

// FingerprintOf builds the cheap part of a fingerprint from an input's size
// and its first and last FingerprintSpan bytes (the same bytes when the
// input is shorter), and the object version if any.
func FingerprintOf(size int64, head, tail []byte, version string) Fingerprint {
	h, t := sha256.Sum256(head), sha256.Sum256(tail)
	return Fingerprint{Size: size, Head: hex.EncodeToString(h[:]), Tail: hex.EncodeToString(t[:]), Version: version}
}

// FingerprintFile fingerprints the file at path as it is on disk (compressed
// bytes for a gzip file): its cheap part only.
func FingerprintFile(path string) (Fingerprint, error) {
	f, err := os.Open(path)
	if err != nil {
		return Fingerprint{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Fingerprint{}, err
	}
	size := st.Size()
	head, err := io.ReadAll(io.NewSectionReader(f, 0, min(size, fingerprintSpan)))
	if err != nil {
		return Fingerprint{}, fmt.Errorf("fingerprint input: %w", err)
	}
	from := max(0, size-fingerprintSpan)
	tail, err := io.ReadAll(io.NewSectionReader(f, from, size-from))
	if err != nil {
		return Fingerprint{}, fmt.Errorf("fingerprint input: %w", err)
	}
	return FingerprintOf(size, head, tail, ""), nil
}

// FingerprintStream fingerprints a stream by the bytes it starts with
// (at most one MiB, as returned by a bufio.Reader's Peek).
func FingerprintStream(head []byte) Fingerprint {
	sum := sha256.Sum256(head)
	return Fingerprint{Size: -1, Head: hex.EncodeToString(sum[:])}
}
