package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/emf"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
)

// emfLine is a log line as the function writes it: slog's JSON with the
// EMF members of sets.
func emfLine(t *testing.T, msg string, sets ...emf.Set) string {
	t.Helper()
	var b bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&b, nil))
	l.LogAttrs(context.Background(), slog.LevelInfo, msg, emf.Attrs(time.UnixMilli(1_700_000_000_000), sets...)...)
	return strings.TrimSuffix(b.String(), "\n")
}

// The summary `make demo` ends with sums every line's metrics per metric
// and dimension set, leaves the runtime's own lines out, averages the
// Seconds metrics, and fails on a line the specification rejects, naming
// it: a line CloudWatch would drop must not pass unseen.
func TestTheMetricsSummaryOfKnownLines(t *testing.T) {
	g := []emf.Dim{{Name: contract.DimCluster, Value: "c"}, {Name: contract.DimGroup, Value: "g"}}
	ended := append(g[:2:2], emf.Dim{Name: contract.DimOutcome, Value: "drained"})
	started := emfLine(t, "drain started", emf.Set{Dims: g, Metrics: []emf.Metric{{Name: contract.MetricDrainsStarted, Value: 1}}})
	done := func(seconds float64) string {
		return emfLine(t, "drain ended",
			emf.Set{Dims: ended, Metrics: []emf.Metric{{Name: contract.MetricDrainsEnded, Value: 1}}},
			emf.Set{Dims: g, Metrics: []emf.Metric{{Name: contract.MetricDrainDuration, Value: seconds}}})
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  string // the printed summary; for a failure, what the error says
		fail  bool
	}{{
		name:  "no metrics",
		lines: []string{"START RequestId: 1 Version: $LATEST", `{"level":"INFO","msg":"plain"}`, "END RequestId: 1", "REPORT RequestId: 1\tDuration: 1.00 ms"},
		want: `
Metrics the function emitted (namespace ECSDrainer, summed per metric and dimension set as CloudWatch aggregates them): 4 log lines read (3 the runtime's START/END/REPORT), 0 values in 0 metrics
`,
	}, {
		name:  "two drains",
		lines: []string{"START RequestId: 1 Version: $LATEST", started, started, done(10), done(5.5), "END RequestId: 1"},
		want: `
Metrics the function emitted (namespace ECSDrainer, summed per metric and dimension set as CloudWatch aggregates them): 6 log lines read (2 the runtime's START/END/REPORT), 6 values in 3 metrics
  metric         dimensions                                     sum  samples  unit     average
  DrainDuration  Cluster=c,AutoScalingGroup=g                  15.5        2  Seconds  7.8s
  DrainsEnded    Cluster=c,AutoScalingGroup=g,Outcome=drained     2        2  Count
  DrainsStarted  Cluster=c,AutoScalingGroup=g                     2        2  Count
`,
	}, {
		name:  "not JSON",
		lines: []string{started, "panic: boom"},
		want:  "line 2 fails the Embedded Metric Format specification: not a JSON object",
		fail:  true,
	}, {
		name:  "no timestamp",
		lines: []string{`{"_aws":{"CloudWatchMetrics":[]},"msg":"x"}`},
		want:  `Timestamp and CloudWatchMetrics are required` + "\n\t" + `{"_aws":{"CloudWatchMetrics":[]},"msg":"x"}`,
		fail:  true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			lines := make([][]byte, len(tc.lines))
			for i, l := range tc.lines {
				lines[i] = []byte(l)
			}
			m, err := readMetrics(lines)
			if tc.fail {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("readMetrics: %v, want an error containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			m.Print(&b)
			if got := b.String(); got != tc.want {
				t.Errorf("summary:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// The metric log keeps whole lines however the writes split them, and
// knows which invocations are still writing.
func TestTheMetricLogKeepsWholeLines(t *testing.T) {
	var next bytes.Buffer
	m := newMetricLog(&next)
	for _, p := range []string{"START RequestId: a Version: $LATEST\n{\"x\":", "1}\nEND Req", "uestId: a\nSTART RequestId: b Version: $LATEST\n"} {
		if _, err := m.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	got := m.Lines()
	if len(got) != 4 || string(got[1]) != `{"x":1}` {
		t.Errorf("lines %q, want 4 with {\"x\":1} second", got)
	}
	if open := m.open(); len(open) != 1 || !open["b"] {
		t.Errorf("open invocations %v, want b", open)
	}
	if !strings.HasPrefix(next.String(), "START RequestId: a") {
		t.Errorf("passed on %q", next.String())
	}
}

// The timeline is hand-written XML: it must parse, with an svg root, one
// step line per drained instance and one completion mark per action the
// drainer completed, coloured by its result, and a mark per launch the
// gate completed.
func TestTheTimelineIsWellFormedSVG(t *testing.T) {
	panels := []timelinePanel{{
		Title: "gate <on> & more",
		Rows: []timelineRow{
			{InstanceID: "i-1", Steps: []taskStep{{0.5, 5}, {3, 2}, {4, 0}}, Until: 4.5, Completed: true, End: 4.5, Result: autoscaling.ResultContinue},
			{InstanceID: "i-2<&>", Steps: []taskStep{{1, 1}}, Until: 60, Completed: true, End: 60, Result: autoscaling.ResultAbandon},
			{InstanceID: "i-3", Steps: []taskStep{{1, 3}, {2, 1}}, Until: 8}, // still pending
		},
		Launches: []launchMark{{InstanceID: "i-9", At: 12, Result: autoscaling.ResultContinue}},
	}, {
		Title: "gate off",
		Rows:  []timelineRow{{InstanceID: "i-4", Steps: []taskStep{{0, 2}, {1, 0}}, Until: 1, Completed: true, End: 1, Result: autoscaling.ResultContinue}},
	}}
	var b strings.Builder
	writeTimeline(&b, panels)
	dec := xml.NewDecoder(strings.NewReader(b.String()))
	root := ""
	series := map[string]bool{}
	marks := map[string]int{}
	launches := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("timeline is not well-formed XML: %v\n%s", err, b.String())
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = se.Name.Local
		}
		attr := map[string]string{}
		for _, a := range se.Attr {
			attr[a.Name.Local] = a.Value
		}
		switch attr["class"] {
		case "series":
			series[attr["data-instance"]] = true
		case "completion":
			marks[attr["data-result"]]++
			if attr["fill"] != resultColors[attr["data-result"]] {
				t.Errorf("completion %s filled %s, want %s", attr["data-result"], attr["fill"], resultColors[attr["data-result"]])
			}
		case "launch":
			launches++
		}
	}
	if root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
	if len(series) != 4 || !series["i-2<&>"] {
		t.Errorf("series %v, want one per instance: i-1, i-2<&>, i-3, i-4", series)
	}
	if marks[autoscaling.ResultContinue] != 2 || marks[autoscaling.ResultAbandon] != 1 {
		t.Errorf("completion marks %v, want 2 CONTINUE and 1 ABANDON", marks)
	}
	if launches != 1 {
		t.Errorf("%d launch marks, want 1", launches)
	}
}
