package main

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKeyFileWarning(t *testing.T) {
	tests := []struct {
		name string
		mode fs.FileMode
		own  bool
		warn string
	}{
		{name: "own, 0600", mode: 0o600, own: true},
		{name: "own, 0400", mode: 0o400, own: true},
		{name: "own, group-readable", mode: 0o640, own: true, warn: "chmod 600"},
		{name: "own, world-readable", mode: 0o644, own: true, warn: "readable by other users"},
		{name: "a Kubernetes Secret with fsGroup: root's, 0440", mode: 0o440, own: false},
		{name: "root's, world-readable", mode: 0o444, own: false, warn: "readable by other users"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := keyFileWarning("/run/secrets/talon/api-key", tc.mode, tc.own)
			if tc.warn == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, got, tc.warn)
		})
	}
}
