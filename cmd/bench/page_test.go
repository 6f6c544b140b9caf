package main

import (
	"strings"
	"testing"
	"time"
)

// The page must render whatever the run measured, a quick run of one
// design included, with every field filled: a field the template names and
// the page lacks would print "<no value>" into docs/benchmark.md.
func TestThePageRendersEveryRun(t *testing.T) {
	lag := func(p50, p99 float64) (spread, spread) { return spread{Median: p50, N: 1}, spread{Median: p99, N: 1} }
	drainer := func(name string, n int, p50, p99 float64) row {
		r := row{Drains: n, Design: name, Completed: n, GBsPerMinute: 0.01, CallsPerDrain: 5, DescribesPerRound: (n + 99) / 100}
		r.LagP50, r.LagP99 = lag(p50, p99)
		return r
	}
	full := []row{
		drainer(nameDrainer, 1000, 0.6, 2.5), drainer(nameEventsLost, 1000, 2.4, 6.1),
		{Drains: 1000, Design: nameSleepPoll, Skipped: "too many"},
		{Drains: 1000, Design: nameRepublish, Completed: 1000, Early: 397, FailedRecords: 375, CallsPerDrain: 19.7},
		{Drains: 100, Design: nameSleepPoll, Completed: 99, GBsPerMinute: 7.2, FailedRecords: 1},
	}
	for _, tc := range []struct {
		name string
		rows []row
		want []string
	}{
		{"every design", full, []string{"**Lag** from the last task", "At 1000 the events-lost p99 is above the interval", "**Billed time.**", "720 times more",
			"(the AWS sample: 19.7)", "republish (AWS sample): at 1000, 1000/1000 completed, 397 early, 375 failed"}},
		{"the drainer alone", full[:1], []string{"ecs-drainer: at 1000, 1000/1000 completed, 0 early, 0 failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			o := options{scales: "1000", reps: 3, sleepPollMax: 100, throttle: true}
			if err := newPage(o, tc.rows, 1000, time.Minute, 2, "benchmark.svg").render(&b); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if strings.Contains(got, "<no value>") {
				t.Errorf("page for %s has an empty field:\n%s", tc.name, got)
			}
			for _, w := range append(tc.want, "| 1000 | ecs-drainer |", "![Drain timelines", "burst 50 and 20/s for `DescribeContainerInstances`") {
				if !strings.Contains(got, w) {
					t.Errorf("page for %s lacks %q:\n%s", tc.name, w, got)
				}
			}
		})
	}
}
