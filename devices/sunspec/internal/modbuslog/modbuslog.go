// Package modbuslog adapts the simonvetter/modbus library's logging, which
// writes "prefix [level]: message" lines to a *log.Logger (or to stdout
// when given none), to a *slog.Logger.
package modbuslog

import (
	"context"
	"log"
	"log/slog"
	"strings"
)

// New returns a *log.Logger for the library that forwards each line to l
// at the level the line is tagged with: [error] and [warn] at Warn (the
// library's errors are about one request, which the caller sees as an
// error anyway), anything else at Debug.
func New(l *slog.Logger) *log.Logger {
	return log.New(writer{l}, "", 0)
}

type writer struct{ l *slog.Logger }

func (w writer) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelDebug
	if strings.Contains(msg, "[error]:") || strings.Contains(msg, "[warn]:") {
		level = slog.LevelWarn
	}
	w.l.Log(context.Background(), level, "modbus", "line", msg)
	return len(p), nil
}
