package blob_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/talonsync/talonsync/internal/blob"
)

// Two runs read the same (missing) checkpoint; the first to save owns it,
// and the second stops.
func ExampleStore_Own() {
	dir, _ := os.MkdirTemp("", "blob-example")
	defer os.RemoveAll(dir)
	ckpt := filepath.Join(dir, "shard-0.ckpt") // or s3://bucket/shard-0.ckpt
	ctx := context.Background()
	s := blob.New(blob.Options{})

	a, _, _ := s.Own(ctx, ckpt, io.Discard)
	b, _, _ := s.Own(ctx, ckpt, io.Discard)
	fmt.Println("a:", a.Save(ctx, strings.NewReader(`{"owner":"a"}`), blob.PutOptions{}))
	err := b.Save(ctx, strings.NewReader(`{"owner":"b"}`), blob.PutOptions{})
	fmt.Println("b lost:", errors.Is(err, blob.ErrPreconditionFailed))
	// Output:
	// a: <nil>
	// b lost: true
}
