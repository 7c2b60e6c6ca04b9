package consensus

import (
	"context"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// newRaftLogger returns an hclog.Logger for raft that forwards messages at
// level and above to log, at the matching slog level, key/value args
// intact. Raft's own formatter writes to io.Discard; only the sink speaks.
func newRaftLogger(log *slog.Logger, level slog.Level) hclog.Logger {
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:   "raft",
		Output: io.Discard,
		Level:  toHCLevel(level),
	})
	l.RegisterSink(slogSink{log: log, min: toHCLevel(level)})
	return l
}

// slogSink passes hclog messages at min and above to a slog.Logger.
type slogSink struct {
	log *slog.Logger
	min hclog.Level
}

// Accept implements hclog.SinkAdapter.
func (s slogSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	if level < s.min {
		return
	}
	s.log.Log(context.Background(), toSlogLevel(level), msg, append([]any{"raft", name}, args...)...)
}

func toHCLevel(l slog.Level) hclog.Level {
	switch {
	case l > slog.LevelError:
		return hclog.Off
	case l >= slog.LevelError:
		return hclog.Error
	case l >= slog.LevelWarn:
		return hclog.Warn
	case l >= slog.LevelInfo:
		return hclog.Info
	case l >= slog.LevelDebug:
		return hclog.Debug
	default:
		return hclog.Trace
	}
}

func toSlogLevel(l hclog.Level) slog.Level {
	switch {
	case l >= hclog.Error:
		return slog.LevelError
	case l >= hclog.Warn:
		return slog.LevelWarn
	case l >= hclog.Info:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}
