package lambda

import (
	"bytes"
	"io"
	"sync"
)

// tailBytes is how much log an invocation result carries: Invoke with
// LogType Tail returns "the last 4 KB of the execution log".
const tailBytes = 4096

// The lines the runtime itself writes around each invocation, in Lambda's
// text format (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html):
// never the function's.
const (
	startPrefix  = "START RequestId: "
	endPrefix    = "END RequestId: "
	reportPrefix = "REPORT RequestId: "
)

// PlatformLine reports whether line is one of the runtime's own START, END
// and REPORT lines rather than the function's.
func PlatformLine(line []byte) bool {
	for _, p := range []string{startPrefix, endPrefix, reportPrefix} {
		if bytes.HasPrefix(line, []byte(p)) {
			return true
		}
	}
	return false
}

// Started and Ended read the request id of a START or END line; ok is false
// for any other line.
func Started(line []byte) (requestID string, ok bool) {
	rest, ok := bytes.CutPrefix(line, []byte(startPrefix))
	if fields := bytes.Fields(rest); ok && len(fields) > 0 {
		return string(fields[0]), true
	}
	return "", false
}

// Ended: see Started.
func Ended(line []byte) (requestID string, ok bool) {
	rest, ok := bytes.CutPrefix(line, []byte(endPrefix))
	if fields := bytes.Fields(rest); ok && len(fields) > 0 {
		return string(fields[0]), true
	}
	return "", false
}

// logSink receives a function's output. Every environment writes whole lines
// to the shared writer under one lock, so lines of concurrent environments
// never interleave, and keeps its own tail for the invocation in progress.
type logSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *logSink) writeLine(line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.w.Write(line) // a failing log writer must not fail the function
}

// lineWriter is the Stdout and Stderr of one process. Being the same
// comparable value for both, os/exec calls Write from one goroutine at a
// time; the lock guards the tail, which the invoker reads and resets.
type lineWriter struct {
	sink *logSink

	mu      sync.Mutex
	partial []byte
	tail    []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lineLocked(l.partial[:i+1])
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

// line records a line the platform writes, such as START and REPORT.
func (l *lineWriter) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lineLocked([]byte(s + "\n"))
}

func (l *lineWriter) lineLocked(line []byte) {
	l.sink.writeLine(line)
	l.tail = append(l.tail, line...)
	if over := len(l.tail) - tailBytes; over > 0 {
		l.tail = append([]byte(nil), l.tail[over:]...)
	}
}

// flush writes out an unterminated last line, once the process has exited.
func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.lineLocked(append(l.partial, '\n'))
		l.partial = nil
	}
}

// takeTail returns the log since the last call and starts a new one.
func (l *lineWriter) takeTail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := string(l.tail)
	l.tail = nil
	return s
}
