package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/emf"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/lambda"
)

// The function's metrics, as CloudWatch would extract them from its log
// lines in Embedded Metric Format
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
// the demo keeps every line the local Lambda runtime writes for the
// function, holds each to the specification, and prints the sums per
// metric and dimension set at its end.

// settleWait bounds how long the demo waits, once the drains have ended,
// for the invocations then in progress to write their last lines.
const settleWait = 10 * time.Second

// metricLog is a FunctionOptions.Logs that keeps every line and passes it
// on to next. The local runtime writes whole lines under its own lock;
// metricLog still joins a line split over writes.
type metricLog struct {
	mu      sync.Mutex
	next    io.Writer
	partial []byte
	lines   [][]byte
}

func newMetricLog(next io.Writer) *metricLog { return &metricLog{next: next} }

func (m *metricLog) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.partial = append(m.partial, p...)
	for {
		i := bytes.IndexByte(m.partial, '\n')
		if i < 0 {
			break
		}
		m.lines = append(m.lines, bytes.Clone(m.partial[:i]))
		m.partial = m.partial[i+1:]
	}
	_, _ = m.next.Write(p) // a failing log writer must not fail the demo
	return len(p), nil
}

// Lines returns the whole lines so far.
func (m *metricLog) Lines() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][]byte(nil), m.lines...)
}

// open lists the invocations whose START line has come and END not yet.
func (m *metricLog) open() map[string]bool {
	ids := map[string]bool{}
	for _, l := range m.Lines() {
		if id, ok := lambda.Started(l); ok {
			ids[id] = true
		} else if id, ok := lambda.Ended(l); ok {
			delete(ids, id)
		}
	}
	return ids
}

// settle waits until every invocation in progress now has ended (its END
// line), so that the lines of the hop that completed the last action are
// in; at most settleWait.
func (m *metricLog) settle(ctx context.Context) {
	pending := m.open()
	deadline := time.Now().Add(settleWait)
	for len(pending) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		still := m.open()
		for id := range pending {
			if !still[id] {
				delete(pending, id)
			}
		}
	}
}

// metrics is what the demo read from the function's lines.
type metrics struct {
	Lines    int // every line
	Platform int // of those, the runtime's START, END and REPORT
	Values   int // metric values extracted
	Totals   []emf.Total
}

// readMetrics parses every line but the runtime's own with emf.Parse, as
// CloudWatch Logs would; a line the specification rejects fails it, with
// the line.
func readMetrics(lines [][]byte) (metrics, error) {
	m := metrics{Lines: len(lines)}
	var data []emf.Datum
	for i, line := range lines {
		if lambda.PlatformLine(line) {
			m.Platform++
			continue
		}
		d, err := emf.Parse(line)
		if err != nil {
			return m, fmt.Errorf("the function's log line %d fails the Embedded Metric Format specification: %w\n\t%s", i+1, err, line)
		}
		for _, x := range d {
			m.Values += len(x.Values)
		}
		data = append(data, d...)
	}
	m.Totals = emf.Totals(data)
	return m, nil
}

// Sum is the sum of the metric's totals over every dimension set.
func (m metrics) Sum(name string) float64 {
	var s float64
	for _, t := range m.Totals {
		if t.Name == name {
			s += t.Sum
		}
	}
	return s
}

// Print writes the totals as a table: metric, dimensions, sum, samples,
// unit, and for Seconds metrics the average.
func (m metrics) Print(w io.Writer) {
	fmt.Fprintf(w, "\nMetrics the function emitted (namespace %s, summed per metric and dimension set as CloudWatch aggregates them): %d log lines read (%d the runtime's START/END/REPORT), %d values in %d metrics\n",
		contract.MetricNamespace, m.Lines, m.Platform, m.Values, len(m.Totals))
	if len(m.Totals) == 0 {
		return
	}
	rows := [][]string{{"metric", "dimensions", "sum", "samples", "unit", "average"}}
	for _, t := range m.Totals {
		dims := make([]string, len(t.Dims))
		for i, d := range t.Dims {
			dims[i] = d.Name + "=" + d.Value
		}
		avg := ""
		if t.Unit == "Seconds" && t.Samples > 0 {
			avg = strconv.FormatFloat(t.Sum/float64(t.Samples), 'f', 1, 64) + "s"
		}
		sum := strconv.FormatFloat(t.Sum, 'f', -1, 64)
		if t.Unit == "Seconds" {
			sum = strconv.FormatFloat(t.Sum, 'f', 1, 64)
		}
		rows = append(rows, []string{t.Name, strings.Join(dims, ","), sum, strconv.Itoa(t.Samples), t.Unit, avg})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			switch i {
			case 2, 3: // numbers, right-aligned
				fmt.Fprintf(&b, "  %*s", widths[i], c)
			default:
				fmt.Fprintf(&b, "  %-*s", widths[i], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
