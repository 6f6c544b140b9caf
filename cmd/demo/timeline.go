package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
	"github.com/ecs-drainer/ecs-drainer/internal/svgchart"
)

// The demo's timeline of its drains (docs/demo-timeline.svg): one row per
// drained instance, the tasks still on it over time as a step line from
// its drain's start, and a mark where the drainer completed the lifecycle
// action (CONTINUE green, ABANDON red); with -refresh, a panel per world
// and, below the drains, a mark per launch action the gate completed.

// timelineFile is where `make demo` writes the timeline, from the
// repository's root.
const timelineFile = "docs/demo-timeline.svg"

// Timeline geometry, in SVG user units.
const (
	tlWidth    = 960
	tlLeft     = 170 // room for the instance IDs
	tlRight    = 20
	tlRow      = 34 // a drained instance's row
	tlLaunch   = 14 // a launch's row
	tlPanelGap = 36
)

var resultColors = map[string]string{autoscaling.ResultContinue: "#1b7837", autoscaling.ResultAbandon: "#b2182b"}

// timelinePanel is one world's drains and launches, times in seconds from
// the panel's origin.
type timelinePanel struct {
	Title    string
	Rows     []timelineRow
	Launches []launchMark
}

// timelineRow is one drained instance.
type timelineRow struct {
	InstanceID string
	Steps      []taskStep // the tasks left from each time on, in time order
	Until      float64    // where the step line ends
	Completed  bool       // the drainer completed the action, at End
	End        float64
	Result     string
}

type taskStep struct {
	At    float64
	Tasks int
}

// launchMark is a launch action the gate completed.
type launchMark struct {
	InstanceID string
	At         float64
	Result     string
}

// drainTimeline reads from the world, once its drains have ended, each of
// the drainer's terminate actions and the tasks on their instances, and
// the launches given, timed from origin.
func drainTimeline(w *localdeploy.World, clusterName, title string, origin time.Time, launches []localdeploy.Launch) timelinePanel {
	p := timelinePanel{Title: title}
	since := func(t time.Time) float64 { return t.Sub(origin).Seconds() }
	now := w.AWS.Clock.Now()
	tasks := w.AWS.ECS.Tasks(clusterName)
	for _, a := range w.AWS.AutoScaling.Actions() {
		if a.Hook != localdeploy.HookName {
			continue
		}
		until := now
		if !a.Active {
			until = a.Ended
		}
		// Tasks placed before the end, and not stopped at the drain's
		// start; a task that outlives the release extends the line.
		type change struct {
			at    time.Time
			delta int
		}
		var changes []change
		left := 0
		for _, t := range tasks {
			if t.EC2InstanceID != a.InstanceID || t.CreatedAt.After(until) || !t.StoppedAt.IsZero() && !t.StoppedAt.After(a.Started) {
				continue
			}
			if t.CreatedAt.After(a.Started) {
				changes = append(changes, change{t.CreatedAt, +1})
			} else {
				left++
			}
			if !t.StoppedAt.IsZero() {
				changes = append(changes, change{t.StoppedAt, -1})
				if t.StoppedAt.After(until) {
					until = t.StoppedAt
				}
			}
		}
		slices.SortStableFunc(changes, func(x, y change) int { return x.at.Compare(y.at) })
		r := timelineRow{InstanceID: a.InstanceID, Steps: []taskStep{{since(a.Started), left}}, Until: since(until),
			Completed: a.End == autoscaling.EndCompleted, End: since(a.Ended), Result: a.Result}
		for _, c := range changes {
			left += c.delta
			if last := &r.Steps[len(r.Steps)-1]; since(c.at) == last.At {
				last.Tasks = left
				continue
			}
			r.Steps = append(r.Steps, taskStep{since(c.at), left})
		}
		p.Rows = append(p.Rows, r)
	}
	slices.SortFunc(p.Rows, func(x, y timelineRow) int { return cmp.Compare(x.Steps[0].At, y.Steps[0].At) })
	for _, l := range launches {
		if l.Gated && l.End == autoscaling.EndCompleted {
			p.Launches = append(p.Launches, launchMark{InstanceID: l.InstanceID, At: since(l.Ended), Result: l.Result})
		}
	}
	return p
}

// writeTimelineFile writes the panels' SVG to path (its folder must exist).
func writeTimelineFile(path string, panels []timelinePanel) error {
	var b strings.Builder
	writeTimeline(&b, panels)
	return os.WriteFile(filepath.Clean(path), []byte(b.String()), 0o644) // #nosec G306 -- a picture checked in with the docs
}

// writeTimeline draws the panels on one time axis each, the same scale
// for all.
func writeTimeline(out io.Writer, panels []timelinePanel) {
	plot := float64(tlWidth - tlLeft - tlRight)
	horizon := 1.0
	height := 50
	for _, p := range panels {
		for _, r := range p.Rows {
			horizon = max(horizon, r.Until, r.End)
		}
		for _, l := range p.Launches {
			horizon = max(horizon, l.At)
		}
		height += 24 + len(p.Rows)*tlRow + len(p.Launches)*tlLaunch + 24 + tlPanelGap
	}
	horizon = math.Ceil(horizon)
	x := func(t float64) float64 { return tlLeft + plot*math.Max(0, t)/horizon }
	svgchart.Start(out, tlWidth, height)
	fmt.Fprintf(out, `<text x="10" y="16" font-weight="bold">Tasks left on each drained instance, seconds since the scale-in or refresh (the live lines' clock)</text>`+"\n")
	fmt.Fprintf(out, `<text x="10" y="32">step line: tasks not yet STOPPED; ● the drainer completed the lifecycle action: <tspan fill="%s">CONTINUE</tspan> / <tspan fill="%s">ABANDON</tspan>; ◆ the launch gate completed a launch action</text>`+"\n",
		resultColors[autoscaling.ResultContinue], resultColors[autoscaling.ResultAbandon])
	y := 50
	for _, p := range panels {
		fmt.Fprintf(out, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y+12, svgchart.Text(p.Title))
		y += 24
		for _, r := range p.Rows {
			top, bottom := float64(y+4), float64(y+tlRow-6)
			peak := 1
			for _, s := range r.Steps {
				peak = max(peak, s.Tasks)
			}
			yOf := func(n int) float64 { return bottom - (bottom-top)*float64(n)/float64(peak) }
			fmt.Fprintf(out, `<text x="10" y="%.0f">%s</text>`, bottom-4, svgchart.Text(r.InstanceID))
			fmt.Fprintf(out, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd"/>`, tlLeft, bottom, tlLeft+plot, bottom)
			var pts []string
			for i, s := range r.Steps {
				if i > 0 {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.At), yOf(r.Steps[i-1].Tasks)))
				}
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.At), yOf(s.Tasks)))
			}
			last := r.Steps[len(r.Steps)-1]
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(r.Until), yOf(last.Tasks)))
			fmt.Fprintf(out, `<polyline class="series" data-instance="%s" points="%s" fill="none" stroke="#555555" stroke-width="1.5"/>`,
				svgchart.Text(r.InstanceID), strings.Join(pts, " "))
			fmt.Fprintf(out, `<text x="%.1f" y="%.1f" font-size="9" fill="#555555">%d</text>`, x(r.Steps[0].At)+2, top+6, r.Steps[0].Tasks)
			if r.Completed {
				fmt.Fprintf(out, `<circle class="completion" data-result="%s" cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s %s at %.1fs</title></circle>`,
					svgchart.Text(r.Result), x(r.End), bottom, colorOf(r.Result), svgchart.Text(r.InstanceID), svgchart.Text(r.Result), r.End)
			}
			fmt.Fprintln(out)
			y += tlRow
		}
		for _, l := range p.Launches {
			cx, cy := x(l.At), float64(y+tlLaunch/2)
			fmt.Fprintf(out, `<text x="10" y="%.0f" font-size="9">launch %s</text>`, cy+3, svgchart.Text(l.InstanceID))
			fmt.Fprintf(out, `<path class="launch" data-result="%s" d="M%.1f %.1fl4 4l-4 4l-4 -4z" fill="%s"><title>launch of %s: %s at %.1fs</title></path>`+"\n",
				svgchart.Text(l.Result), cx, cy-4, colorOf(l.Result), svgchart.Text(l.InstanceID), svgchart.Text(l.Result), l.At)
			y += tlLaunch
		}
		svgchart.Axis(out, tlLeft, y+4, horizon, plot)
		y += 24 + tlPanelGap
	}
	svgchart.End(out)
}

func colorOf(result string) string {
	if c, ok := resultColors[result]; ok {
		return c
	}
	return "#888888"
}
