package main

import (
	"log/slog"
	"strings"
)

func newLogger(o *syncOptions) *slog.Logger {
	level := slog.LevelInfo
	if o.Verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if o.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(o.io.ErrOut, opts))
	}
	return slog.New(slog.NewTextHandler(o.io.ErrOut, opts))
}

// commandLine is the command that resumes this run, shell-quoted.
func (o *syncOptions) commandLine() string {
	parts := append([]string{"talonsync"}, o.args...)
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
