package localdeploy

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// LogLine is one of the function's JSON log lines, with the keys a scenario
// reads (the handler's log keys): a drain's outcome, and its diagnosis
// (reasons, tasks, unblock) when the line is a "drain diagnosis changed".
type LogLine struct {
	Time       time.Time      `json:"time"`
	Level      string         `json:"level"`
	Msg        string         `json:"msg"`
	InstanceID string         `json:"instance_id"`
	Outcome    string         `json:"outcome"`
	Reasons    map[string]int `json:"reasons"`
	Unblock    []string       `json:"unblock"`
	// Tasks is the line's task list: findings in a diagnosis line, other
	// shapes in an outcome's (Findings reads the former).
	Tasks json.RawMessage `json:"tasks"`
}

// MsgDiagnosis is the message of the line a drain logs when its diagnosis
// changes.
const MsgDiagnosis = "drain diagnosis changed"

// Finding is one task of a diagnosis line: why it is still on the instance.
type Finding struct {
	ARN      string `json:"arn"`
	Service  string `json:"service"`
	Reason   string `json:"reason"`
	Resource string `json:"resource"`
}

// Findings are the tasks of a diagnosis line, nil for any other line.
func (l LogLine) Findings() []Finding {
	var fs []Finding
	if l.Msg != MsgDiagnosis || json.Unmarshal(l.Tasks, &fs) != nil {
		return nil
	}
	return fs
}

// LogLines is a FunctionOptions.Logs that hands each of the function's JSON
// log lines to f as it is written, and passes every line on to next (nil:
// nowhere). The runtime's own lines (START, END, REPORT) and anything else
// that is not a JSON object only pass on. f runs on the writer's goroutine:
// it must not block.
func LogLines(next io.Writer, f func(LogLine)) io.Writer {
	if next == nil {
		next = io.Discard
	}
	return &logTap{next: next, f: f}
}

type logTap struct {
	mu      sync.Mutex
	next    io.Writer
	f       func(LogLine)
	partial []byte
}

// Write takes whole lines, as the local runtime writes them, and keeps a
// partial one until its end comes.
func (t *logTap) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		line := t.partial[:i]
		var l LogLine
		if bytes.HasPrefix(line, []byte("{")) && json.Unmarshal(line, &l) == nil {
			t.f(l)
		}
		t.partial = t.partial[i+1:]
	}
	_, _ = t.next.Write(p) // a failing log writer must not fail the scenario
	return len(p), nil
}
