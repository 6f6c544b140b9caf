package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// row is one design on one scenario, over its repetitions.
type row struct {
	Drains, Reps int
	Design       string
	Completed    int // in the worst repetition
	Early        int // completed with a task not yet STOPPED, all repetitions
	LagP50       spread
	LagP99       spread
	Wall         spread
	// GBs is billed GB-seconds per drain as measured; GBsPerMinute is the
	// extrapolation to a real (unscaled) drain minute.
	GBs, GBsPerMinute float64
	CallsPerDrain     float64
	CallsByOp         map[string]float64 // per drain
	SQSPerDrain       float64
	Throttled         int // throttled answers, worst repetition
	FailedRecords     int
	// InitMS is the cold starts' Init Duration in milliseconds: the median
	// and max over every cold start of every repetition.
	InitMS spread
	// DescribesPerRound: the most DescribeContainerInstances calls within
	// one poll interval, worst repetition.
	DescribesPerRound int
	Skipped           string // why the design did not run at this scale
}

// summarize turns a design's repetitions on one scenario into a row.
func summarize(ds design, rs []result) row {
	r := row{Design: ds.Name, Reps: len(rs), Completed: math.MaxInt, CallsByOp: map[string]float64{}}
	var p50, p99, wall, gbs, perMin, calls, sqs, inits []float64
	for _, x := range rs {
		for _, d := range x.Inits {
			inits = append(inits, float64(d)/float64(time.Millisecond))
		}
		r.DescribesPerRound = max(r.DescribesPerRound, x.DescribesPerRound)
		r.Drains = x.Drains
		completed := 0
		var lags, held []float64
		for _, d := range x.Records {
			if !d.Completed {
				continue
			}
			completed++
			held = append(held, d.End-d.Start)
			if d.Early {
				r.Early++
				continue
			}
			lags = append(lags, d.Lag())
		}
		r.Completed = min(r.Completed, completed)
		p50, p99 = append(p50, percentile(lags, 50)), append(p99, percentile(lags, 99))
		wall = append(wall, x.Wall.Seconds())
		n := float64(max(1, x.Drains))
		g := x.BilledSeconds * memoryMB / 1024 / n
		gbs = append(gbs, g)
		realMinutes := mean(held) * timeScale / 60
		if ds.BillsWaiting {
			g *= timeScale
		}
		perMin = append(perMin, g/realMinutes)
		total := 0
		for op, c := range x.Calls {
			total += c
			r.CallsByOp[op] += float64(c) / n / float64(len(rs))
		}
		calls = append(calls, float64(total)/n)
		sqs = append(sqs, float64(x.SQSRecords)/n)
		throttled := 0
		for _, c := range x.Throttled {
			throttled += c
		}
		r.Throttled = max(r.Throttled, throttled)
		r.FailedRecords += x.FailedRecords
	}
	if len(rs) == 0 {
		r.Completed = 0
	}
	r.LagP50, r.LagP99, r.Wall, r.InitMS = spreadOf(p50), spreadOf(p99), spreadOf(wall), spreadOf(inits)
	r.GBs, r.GBsPerMinute = spreadOf(gbs).Median, spreadOf(perMin).Median
	r.CallsPerDrain, r.SQSPerDrain = spreadOf(calls).Median, spreadOf(sqs).Median
	return r
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// seconds renders a timing: the median, and with repetitions the noise.
func seconds(s spread) string {
	switch {
	case math.IsNaN(s.Median):
		return "–"
	case s.N > 1:
		return fmt.Sprintf("%.2f s (%.2f–%.2f)", s.Median, s.Min, s.Max)
	default:
		return fmt.Sprintf("%.2f s", s.Median)
	}
}

// millis renders init durations: the median and the slowest.
func millis(s spread) string {
	if math.IsNaN(s.Median) {
		return "–"
	}
	return fmt.Sprintf("%.0f ms (%.0f)", s.Median, s.Max)
}

// gbSeconds renders small GB-second figures readably.
func gbSeconds(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "–"
	case x < 0.01:
		return fmt.Sprintf("%.4f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

// renderTable writes the markdown tables: the summary, then AWS calls per
// drain by operation.
func renderTable(out io.Writer, rows []row) {
	fmt.Fprintln(out, "| drains | design | completed | early | lag p50 | lag p99 | GB-s / drain | GB-s / real drain-min | AWS calls / drain | DescribeContainerInstances / poll round (max) | SQS msgs / drain | throttled | failed records | init p50 (max) | wall |")
	fmt.Fprintln(out, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		if r.Skipped != "" {
			fmt.Fprintf(out, "| %d | %s | not run: %s | | | | | | | | | | | | |\n", r.Drains, r.Design, r.Skipped)
			continue
		}
		fmt.Fprintf(out, "| %d | %s | %d/%d | %d | %s | %s | %s | %s | %.1f | %d | %.1f | %d | %d | %s | %s |\n",
			r.Drains, r.Design, r.Completed, r.Drains, r.Early, seconds(r.LagP50), seconds(r.LagP99),
			gbSeconds(r.GBs), gbSeconds(r.GBsPerMinute), r.CallsPerDrain, r.DescribesPerRound, r.SQSPerDrain, r.Throttled, r.FailedRecords,
			millis(r.InitMS), seconds(r.Wall))
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| drains | design | AWS calls per drain, by operation |")
	fmt.Fprintln(out, "|---:|---|---|")
	for _, r := range rows {
		if r.Skipped != "" {
			continue
		}
		ops := make([]string, 0, len(r.CallsByOp))
		for op := range r.CallsByOp {
			ops = append(ops, op)
		}
		slices.Sort(ops)
		parts := make([]string, len(ops))
		for i, op := range ops {
			parts[i] = fmt.Sprintf("%s %.1f", op, r.CallsByOp[op])
		}
		fmt.Fprintf(out, "| %d | %s | %s |\n", r.Drains, r.Design, strings.Join(parts, ", "))
	}
}
