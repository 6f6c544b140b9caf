package localdeploy

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A scenario reads the function's diagnosis from its log lines as they are
// written: each JSON line must reach it once, whole, however the writes
// split it, and every byte must still pass on to the log's own writer
// (-v prints it), otherwise the demo shows a diagnosis late, twice or not
// at all.
func TestLogLinesHandsOnEachJSONLineOnce(t *testing.T) {
	var next bytes.Buffer
	var got []LogLine
	w := LogLines(&next, func(l LogLine) { got = append(got, l) })
	in := "START RequestId: 1\n" +
		`{"level":"WARN","msg":"drain diagnosis changed","instance_id":"i-1","reasons":{"no_capacity":1},` +
		`"tasks":[{"arn":"t1","service":"web","reason":"no_capacity","resource":"host port 80"}],"unblock":["service web needs host port 80"]}` + "\n" +
		`{"level":"WARN","msg":"every task left blocked","instance_id":"i-1","outcome":"stuck","tasks":["t1"]}` + "\n"
	for _, part := range []string{in[:30], in[30:120], in[120:]} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if next.String() != in {
		t.Errorf("passed on %q, want %q", next.String(), in)
	}
	if len(got) != 2 {
		t.Fatalf("got %d lines, want 2: %+v", len(got), got)
	}
	want := []Finding{{ARN: "t1", Service: "web", Reason: "no_capacity", Resource: "host port 80"}}
	if diff := cmp.Diff(want, got[0].Findings()); diff != "" {
		t.Errorf("findings of the diagnosis line (-want +got):\n%s", diff)
	}
	if got[1].Outcome != "stuck" || got[1].Findings() != nil {
		t.Errorf("outcome line: outcome %q, findings %v; want stuck and no findings", got[1].Outcome, got[1].Findings())
	}
}
