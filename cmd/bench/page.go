package main

import (
	_ "embed"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/template"
	"time"
)

// pageTemplate is docs/benchmark.md: the prose that says what is compared
// and how to read it, around the run's table and findings, so the page
// explains itself and its figures are the run's own.
//
//go:embed benchmark.md.tmpl
var pageTemplate string

// page is what the template fills in: the benchmark's settings, named as
// the code has them, and the run's results.
type page struct {
	Scales                       string
	Reps, SleepPollMax           int
	Throttle                     bool
	CPUs                         int
	Took                         time.Duration
	Table                        string
	Chart                        string // the SVG's file name, beside the page
	ChartScale                   int
	Findings                     []string
	TimeScale, MemoryMB          int
	DrainerPoll, SleepPollWait   time.Duration
	RepublishWait, HookHeartbeat int // seconds
	BaselineConcurrency          int
	Buckets                      string
}

// newPage gathers the settings the prose names and the run's results.
func newPage(opt options, rows []row, chartScale int, took time.Duration, cpus int, chart string) page {
	var table strings.Builder
	renderTable(&table, rows)
	return page{
		Scales: opt.scales, Reps: opt.reps, SleepPollMax: opt.sleepPollMax, Throttle: opt.throttle, CPUs: cpus, Took: took.Round(time.Second),
		Table: table.String(), Chart: chart, ChartScale: chartScale, Findings: findings(rows),
		TimeScale: timeScale, MemoryMB: memoryMB, DrainerPoll: drainerPoll, SleepPollWait: sleepPollWait,
		RepublishWait: republishWait, HookHeartbeat: hookHeartbeat, BaselineConcurrency: baselineConcurrency,
		Buckets: bucketsText(),
	}
}

func (p page) render(w io.Writer) error {
	t, err := template.New("benchmark.md").Funcs(template.FuncMap{"sec": sec}).Parse(pageTemplate)
	if err != nil {
		return err
	}
	return t.Execute(w, p)
}

// sec renders a duration in seconds, as the page's prose does ("3 s").
func sec(d time.Duration) string { return fmt.Sprintf("%g s", d.Seconds()) }

// bucketsText describes ecsBuckets in the scaled benchmark's units: burst
// and refill per benchmark second, by operation.
func bucketsText() string {
	byBucket := map[string][]string{}
	var keys []string
	for _, op := range slices.Sorted(maps.Keys(ecsBuckets)) {
		b := ecsBuckets[op]
		k := fmt.Sprintf("burst %g and %g/s", b.Burst, b.Rate/timeScale)
		if byBucket[k] == nil {
			keys = append(keys, k)
		}
		byBucket[k] = append(byBucket[k], "`"+op+"`")
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " for " + strings.Join(byBucket[k], ", ")
	}
	return strings.Join(parts, "; ")
}

// rowsOf returns the rows of a design that ran, by scale.
func rowsOf(rows []row, design string) []row {
	var out []row
	for _, r := range rows {
		if r.Design == design && r.Skipped == "" {
			out = append(out, r)
		}
	}
	return out
}

// lags renders a design's lag at each scale it ran.
func lags(rs []row) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		if r.Drains == 1 {
			parts = append(parts, fmt.Sprintf("%.2f s for one drain", r.LagP50.Median))
			continue
		}
		parts = append(parts, fmt.Sprintf("p50 %.2f s / p99 %.2f s at %d at once", r.LagP50.Median, r.LagP99.Median, r.Drains))
	}
	return strings.Join(parts, ", ")
}

// billedRange is the smallest and largest GB-s per real drain-minute over
// rows.
func billedRange(rs []row) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, r := range rs {
		if !math.IsNaN(r.GBsPerMinute) && !math.IsInf(r.GBsPerMinute, 0) {
			lo, hi = min(lo, r.GBsPerMinute), max(hi, r.GBsPerMinute)
		}
	}
	return lo, hi
}

// findings are the page's reading of the run: what the table says, in
// sentences whose every figure is the run's.
func findings(rows []row) []string {
	drainer, lost := rowsOf(rows, nameDrainer), rowsOf(rows, nameEventsLost)
	sleep, republish := rowsOf(rows, nameSleepPoll), rowsOf(rows, nameRepublish)
	var out []string
	if len(drainer) > 0 && len(lost) > 0 {
		s := fmt.Sprintf("**Lag** from the last task's stop to the release. With ECS events delivered: %s. "+
			"With every ECS event lost the drainer completes at the next point of its %s poll grid: %s.", lags(drainer), sec(drainerPoll), lags(lost))
		if last := lost[len(lost)-1]; last.LagP99.Median > drainerPoll.Seconds() {
			s += fmt.Sprintf(" At %d the events-lost p99 is above the interval: all the hops come due at the same grid point, and the round's writes "+
				"(the chain marks' `PutAttributes`, a `ListTasks` for every instance that fell quiet) meet ECS's buckets at once; the %d throttled answers "+
				"are retried with the SDK's backoff, which scaling leaves in real seconds, so hops served late in one round and early in the next look "+
				"more than an interval apart.", last.Drains, last.Throttled)
		}
		out = append(out, s)
	}
	if len(sleep) > 0 && len(drainer)+len(lost) > 0 {
		slo, shi := billedRange(sleep)
		dlo, dhi := billedRange(append(slices.Clone(drainer), lost...))
		out = append(out, fmt.Sprintf("**Billed time.** The sleep-poll baseline bills %s to %s GB-s per real drain-minute against %s to %s for the drainer: "+
			"%s to %s times more. It sleeps inside its invocation, so it pays for the whole drain; the drainer pays for its looks.",
			gbSeconds(slo), gbSeconds(shi), gbSeconds(dlo), gbSeconds(dhi), ratio(slo/dhi), ratio(shi/dlo)))
	}
	if len(drainer) > 0 && len(lost) > 0 {
		d, l := drainer[len(drainer)-1], lost[len(lost)-1]
		s := fmt.Sprintf("**Calls.** %d drains cost %d `DescribeContainerInstances` per poll round with the events and %d without (a call describes 100 "+
			"instances, so %d is the least); in all, %.1f AWS calls per drain with the events lost and %.1f with them",
			d.Drains, d.DescribesPerRound, l.DescribesPerRound, (d.Drains+99)/100, l.CallsPerDrain, d.CallsPerDrain)
		if i := slices.IndexFunc(republish, func(r row) bool { return r.Drains == d.Drains }); i >= 0 {
			s += fmt.Sprintf(" (the AWS sample: %.1f)", republish[i].CallsPerDrain)
		}
		out = append(out, s+". With the events delivered, each batch of up to 10 ECS events makes one `DescribeContainerInstances` of its own, outside the poll rounds.")
	}
	correct := "**Correctness**: completed by the function, released early (a task not yet stopped), records failed."
	for _, name := range []string{nameDrainer, nameEventsLost, nameSleepPoll, nameRepublish} {
		if rs := rowsOf(rows, name); len(rs) > 0 {
			correct += "\n  - " + name + ": " + correctness(rs)
		}
	}
	return append(out, correct)
}

// correctness renders a design's completions, early releases and failed
// records at each scale.
func correctness(rs []row) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("at %d, %d/%d completed, %d early, %d failed", r.Drains, r.Completed, r.Drains, r.Early, r.FailedRecords)
	}
	return strings.Join(parts, "; ")
}

// ratio renders how many times more, to two significant figures.
func ratio(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "–"
	case x >= 100:
		p := math.Pow(10, math.Floor(math.Log10(x))-1)
		return fmt.Sprintf("%.0f", math.Round(x/p)*p)
	default:
		return fmt.Sprintf("%.1f", x)
	}
}
