package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/ecs-drainer/ecs-drainer/internal/svgchart"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 960
	chartLeft   = 200 // room for labels
	chartRight  = 20
	rowHeight   = 6
	maxRows     = 40 // drains drawn per timeline; evenly sampled beyond
	panelGap    = 40
	lagBarWidth = 10
)

var designColors = []string{"#1b7837", "#7fbc41", "#b2182b", "#2166ac"}

// renderChart writes a hand-written SVG: for each design, the timelines of
// one run's drains (grey: tasks still on the instance; colour: the lag from
// the last task's stop to the completion; a red tick: completed before the
// last task stopped), then the lag p50 and p99 of every row.
func renderChart(out io.Writer, timelines []result, rows []row) {
	plot := float64(chartWidth - chartLeft - chartRight)
	horizon := 1.0
	for _, r := range timelines {
		for _, d := range r.Records {
			horizon = max(horizon, d.End, d.LastStop)
		}
	}
	height := 30
	for _, r := range timelines {
		height += 30 + min(len(r.Records), maxRows)*rowHeight + panelGap
	}
	lagTop := height
	height += 30 + len(rows)*(lagBarWidth+4) + 40
	svgchart.Start(out, chartWidth, height)
	y := 20
	for i, r := range timelines {
		color := designColors[i%len(designColors)]
		fmt.Fprintf(out, `<text x="10" y="%d" font-weight="bold">%s: %d drains (seconds since the terminations; 1 s stands for %d s)</text>`+"\n", y+10, svgchart.Text(r.Design), r.Drains, timeScale)
		y += 20
		for _, d := range sample(r.Records) {
			x := func(t float64) float64 { return chartLeft + plot*t/horizon }
			fmt.Fprintf(out, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#bbbbbb"/>`, x(d.Start), y, math.Max(0, x(d.LastStop)-x(d.Start)), rowHeight-1)
			if d.Early {
				fmt.Fprintf(out, `<rect x="%.1f" y="%d" width="2" height="%d" fill="red"/>`, x(d.End), y, rowHeight-1)
			} else {
				fmt.Fprintf(out, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`, x(d.LastStop), y, math.Max(1, x(d.End)-x(d.LastStop)), rowHeight-1, color)
			}
			fmt.Fprintln(out)
			y += rowHeight
		}
		svgchart.Axis(out, chartLeft, y+4, horizon, plot)
		y += panelGap
	}
	maxLag := 0.1
	for _, r := range rows {
		if r.Skipped == "" && !math.IsNaN(r.LagP99.Median) {
			maxLag = max(maxLag, r.LagP99.Max)
		}
	}
	y = lagTop
	fmt.Fprintf(out, `<text x="10" y="%d" font-weight="bold">Completion lag after the last task stopped: p99 (light), p50 (dark), seconds (max %.1f)</text>`+"\n", y+10, maxLag)
	y += 24
	lagPlot := plot - 60
	for _, r := range rows {
		color := designColors[slices.IndexFunc(timelinesOrder(timelines, rows), func(n string) bool { return n == r.Design })%len(designColors)]
		fmt.Fprintf(out, `<text x="10" y="%d">%d × %s</text>`, y+9, r.Drains, svgchart.Text(r.Design))
		if r.Skipped == "" && !math.IsNaN(r.LagP99.Median) {
			w99, w50 := lagPlot*r.LagP99.Median/maxLag, lagPlot*r.LagP50.Median/maxLag
			fmt.Fprintf(out, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s" fill-opacity="0.35"/>`, chartLeft, y, w99, lagBarWidth, color)
			fmt.Fprintf(out, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, chartLeft, y, w50, lagBarWidth, color)
			fmt.Fprintf(out, `<text x="%.1f" y="%d">%.2f / %.2f s</text>`, float64(chartLeft)+w99+4, y+9, r.LagP50.Median, r.LagP99.Median)
		} else {
			fmt.Fprintf(out, `<text x="%d" y="%d">not run</text>`, chartLeft, y+9)
		}
		fmt.Fprintln(out)
		y += lagBarWidth + 4
	}
	svgchart.End(out)
}

// timelinesOrder is the design names in colour order.
func timelinesOrder(timelines []result, rows []row) []string {
	var names []string
	for _, r := range timelines {
		names = append(names, r.Design)
	}
	for _, r := range rows {
		if !slices.Contains(names, r.Design) {
			names = append(names, r.Design)
		}
	}
	return names
}

// sample keeps at most maxRows drains, evenly, ordered by last task stop.
func sample(ds []drainRecord) []drainRecord {
	s := slices.Clone(ds)
	slices.SortFunc(s, func(a, b drainRecord) int { return cmp.Compare(a.LastStop, b.LastStop) })
	if len(s) <= maxRows {
		return s
	}
	out := make([]drainRecord, maxRows)
	for i := range out {
		out[i] = s[i*len(s)/maxRows]
	}
	return out
}
