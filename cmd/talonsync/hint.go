package main

import (
	"os"
	"path/filepath"
	"strings"
)

// resumeHint says how to go on after a stop.
func (o *syncOptions) resumeHint() string {
	switch {
	case o.State != "":
		return "interrupted; the state records what the API confirmed: the same command sends only what it did not confirm yet: " + o.commandLine()
	case o.Checkpoint == "":
		return "interrupted; without --checkpoint a new run sends the whole input again"
	case o.Input == "-":
		return "interrupted; the checkpoint is saved. Resume by feeding the same stream, from its start, to the same command: " + o.commandLine()
	}
	return "interrupted; the checkpoint is saved. Resume with the same command: " + o.commandLine()
}

// progName is the program's name as the user typed it (./talonsync,
// /usr/local/bin/talonsync), or talonsync for a binary of go run or go test.
func progName() string {
	p := os.Args[0]
	if p == "" || strings.Contains(p, string(filepath.Separator)+"go-build") || strings.HasSuffix(p, ".test") {
		return "talonsync"
	}
	return p
}

// commandLine is the command that resumes this run, shell-quoted.
func (o *syncOptions) commandLine() string {
	parts := append([]string{progName()}, o.env.args...)
	for i, p := range parts {
		parts[i] = shellQuote(p)
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
