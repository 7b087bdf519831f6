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

// Fingerprint identifies an input cheaply: its size and hashes of its
// first and last MiB. A file of a few GB is fingerprinted in milliseconds; an
// export that changed in size, head or tail is recognised as new. For stdin
// the size is -1 and only the head is hashed.
type Fingerprint struct {
	Size int64  `json:"size"`
	Head string `json:"head_sha256"`
	Tail string `json:"tail_sha256,omitempty"`
}

// Same reports whether two fingerprints name the same input.
func (f Fingerprint) Same(o Fingerprint) bool { return f == o }

func (f Fingerprint) String() string {
	if f.Size < 0 {
		return fmt.Sprintf("stream starting with sha256 %.12s", f.Head)
	}
	return fmt.Sprintf("%d bytes, sha256 head %.12s tail %.12s", f.Size, f.Head, f.Tail)
}

// FingerprintFile fingerprints the file at path as it is on disk (compressed
// bytes for a gzip file).
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
	fp := Fingerprint{Size: st.Size()}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, min(fp.Size, fingerprintSpan))); err != nil {
		return Fingerprint{}, fmt.Errorf("fingerprint input: %w", err)
	}
	fp.Head = hex.EncodeToString(h.Sum(nil))
	h.Reset()
	from := max(0, fp.Size-fingerprintSpan)
	if _, err := io.Copy(h, io.NewSectionReader(f, from, fp.Size-from)); err != nil {
		return Fingerprint{}, fmt.Errorf("fingerprint input: %w", err)
	}
	fp.Tail = hex.EncodeToString(h.Sum(nil))
	return fp, nil
}

// FingerprintStream fingerprints a stream by the bytes it starts with
// (at most one MiB, as returned by a bufio.Reader's Peek).
func FingerprintStream(head []byte) Fingerprint {
	sum := sha256.Sum256(head)
	return Fingerprint{Size: -1, Head: hex.EncodeToString(sum[:])}
}
