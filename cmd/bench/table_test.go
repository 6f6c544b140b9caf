package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	// Early releases must be counted and kept out of the lag percentiles,
	// otherwise a design that releases before its tasks stop shows a lag
	// better than zero; a drain that never completed must show in
	// "completed".
	rs := []result{{
		Drains: 3, BilledSeconds: 8, Wall: 10 * time.Second,
		Records: []drainRecord{
			{Start: 0, LastStop: 4, End: 5, Completed: true},
			{Start: 0, LastStop: 6, End: 3, Completed: true, Early: true},
			{Start: 0, LastStop: 2, End: 9},
		},
		Calls:      map[string]int{"ECS.ListTasks": 6, "SQS.SendMessage": 3},
		Throttled:  map[string]int{"ECS.ListTasks": 2},
		SQSRecords: 6,
	}}
	r := summarize(design{Name: "x"}, rs)
	if r.Completed != 2 || r.Early != 1 {
		t.Errorf("completed, early = %d, %d; want 2, 1", r.Completed, r.Early)
	}
	if r.LagP50.Median != 1 || r.LagP99.Median != 1 {
		t.Errorf("lag p50, p99 = %v, %v; want 1, 1 (the early drain left out)", r.LagP50.Median, r.LagP99.Median)
	}
	if r.CallsPerDrain != 3 || r.CallsByOp["ECS.ListTasks"] != 2 || r.SQSPerDrain != 2 || r.Throttled != 2 {
		t.Errorf("calls %v by op %v sqs %v throttled %v; want 3, ListTasks 2, 2, 2", r.CallsPerDrain, r.CallsByOp, r.SQSPerDrain, r.Throttled)
	}
	// 8 billed seconds at 128 MB over 3 drains.
	if want := 8.0 * 128 / 1024 / 3; math.Abs(r.GBs-want) > 1e-9 {
		t.Errorf("GB-s per drain = %v, want %v", r.GBs, want)
	}
}

func TestRenderTable(t *testing.T) {
	// Every row must have as many cells as the header, otherwise the
	// markdown renders broken on GitHub.
	rows := []row{
		summarize(design{Name: "a"}, []result{{Drains: 1, Records: []drainRecord{{End: 1, LastStop: 0.5, Completed: true}}, Calls: map[string]int{"ECS.ListTasks": 1}}}),
		{Drains: 1000, Design: "b", Skipped: "too many processes"},
	}
	var b strings.Builder
	renderTable(&b, rows)
	var cells int
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			cells = 0
			continue
		}
		n := strings.Count(line, "|")
		if cells == 0 {
			cells = n
		}
		if n != cells {
			t.Errorf("line %q has %d separators, want %d", line, n, cells)
		}
	}
	if !strings.Contains(b.String(), "0.50 s") || !strings.Contains(b.String(), "not run: too many processes") {
		t.Errorf("table lacks the lag or the skipped row:\n%s", b.String())
	}
}
