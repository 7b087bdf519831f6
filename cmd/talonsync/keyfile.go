package main

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// keyFileWarning is the warning about an --api-key-file's permissions, or
// "". A key that every user can read is always worth one. Group bits are
// only when the file is this user's own, which it can chmod: a Kubernetes
// Secret mounted with fsGroup is root's, mode 0440, in the pod's group,
// read through that group by design, and read-only.
func keyFileWarning(path string, mode fs.FileMode, own bool) string {
	perm := mode.Perm()
	switch {
	case perm&0o007 != 0:
		return fmt.Sprintf("%s is readable by other users (mode %v): make it readable by its owner or group only", path, perm)
	case perm&0o070 != 0 && own:
		return fmt.Sprintf("%s is readable by other users (mode %v); chmod 600 it", path, perm)
	}
	return ""
}

// checkKeyFile logs keyFileWarning for the file at path.
func (o *syncOptions) checkKeyFile(path string) {
	st, err := os.Stat(path)
	if err != nil {
		return
	}
	own := true
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		own = int(sys.Uid) == os.Geteuid()
	}
	if w := keyFileWarning(path, st.Mode(), own); w != "" {
		o.log().Warn(w)
	}
}
