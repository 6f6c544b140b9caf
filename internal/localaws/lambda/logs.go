package lambda

import (
	"bytes"
	"io"
	"sync"
)

// tailBytes is how much log an invocation result carries: Invoke with
// LogType Tail returns "the last 4 KB of the execution log".
const tailBytes = 4096

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
