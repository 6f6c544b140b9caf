// Command bench compares three ways to drain ECS container instances on the
// local AWS (`make bench`): this drainer (the real functions/drainer binary,
// deployed as the CDK template says), a sleep-and-poll hook in one
// invocation (the CDK InstanceDrainHook's way) and a hook that re-publishes
// its message with a fixed delay (the 2017 AWS sample's way). Each runs the
// same workload on a fresh local AWS with the same ECS throttling, for 1, 100
// and 1,000 concurrent drains, with time scaled down (timeScale). It prints a
// markdown table and writes docs/benchmark.md, the whole page (what is
// compared, how to read it, the table, what it says: benchmark.md.tmpl),
// with an SVG chart of drain timelines and lag beside it.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

func main() {
	scales := flag.String("drains", "1,100,1000", "comma-separated scenarios: concurrent drains in each")
	reps := flag.Int("reps", 3, "repetitions of the 1-drain scenario (larger ones run once: each drain is a sample)")
	sleepPollMax := flag.Int("sleep-poll-max", 100, "largest scenario the sleep-poll baseline runs in (it needs an execution environment, here a process, per drain)")
	out := flag.String("out", "docs/benchmark.md", "the page to write; its chart goes beside it, named as the page with .svg")
	throttle := flag.Bool("ecs-throttle", true, "throttle ECS with token buckets per operation (off: what the designs do when ECS's budget is not the limit)")
	only := flag.String("designs", "", "regular expression: run only the designs whose name matches (default: all), e.g. ^ecs-drainer")
	flag.Parse()
	if err := run(context.Background(), options{scales: *scales, only: *only, reps: *reps, sleepPollMax: *sleepPollMax, throttle: *throttle}, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// limit bounds each run: past the hook's heartbeat timeout every action of a
// design without heartbeats has ended, and the drainer's have completed.
const limit = hookHeartbeat*time.Second + 30*time.Second

// options are the command's flags.
type options struct {
	scales, only       string
	reps, sleepPollMax int
	throttle           bool
}

func run(ctx context.Context, opt options, outPath string, out io.Writer) error {
	scales, reps, sleepPollMax := opt.scales, opt.reps, opt.sleepPollMax
	start := time.Now()
	var sizes []int
	for _, s := range strings.Split(scales, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-drains: %q is not a positive count", s)
		}
		sizes = append(sizes, n)
	}
	dir, err := os.MkdirTemp("", "ecs-drainer-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(os.Stderr, "building the drainer and the two baselines, synthesizing the CDK app ...")
	ds, err := designs(ctx, dir)
	if err != nil {
		return err
	}
	if ds, err = selectDesigns(ds, opt.only); err != nil {
		return err
	}
	dep, err := localdeploy.Synthesize(ctx, cluster, []string{group})
	if err != nil {
		return err
	}
	var rows []row
	var timelines []result
	for _, n := range sizes {
		for _, d := range ds {
			if d.BillsWaiting && n > sleepPollMax {
				rows = append(rows, row{Drains: n, Design: d.Name, Skipped: fmt.Sprintf("needs %d concurrent invocations held for the whole drain; capped at %d, it would take %d waves (-sleep-poll-max)", n, baselineConcurrency, (n+baselineConcurrency-1)/baselineConcurrency)})
				continue
			}
			k := 1
			if n == 1 {
				k = reps
			}
			var rs []result
			for i := range k {
				t := time.Now()
				r, err := runDesign(ctx, dep, d, n, limit, opt.throttle)
				if err != nil {
					return fmt.Errorf("%s, %d drains: %w", d.Name, n, err)
				}
				fmt.Fprintf(os.Stderr, "%-24s %5d drains, run %d/%d: %s\n", d.Name, n, i+1, k, time.Since(t).Round(time.Second))
				rs = append(rs, r)
			}
			rows = append(rows, summarize(d, rs))
			if n == chartScale(sizes) {
				timelines = append(timelines, rs[0])
			}
		}
	}
	chart := strings.TrimSuffix(outPath, filepath.Ext(outPath)) + ".svg"
	p := newPage(opt, rows, chartScale(sizes), time.Since(start), runtime.NumCPU(), filepath.Base(chart))
	fmt.Fprint(out, p.Table)
	var page bytes.Buffer
	if err := p.render(&page); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(outPath), 0o750); err != nil {
		return err
	}
	if err := os.WriteFile(outPath, page.Bytes(), 0o600); err != nil {
		return err
	}
	var svg strings.Builder
	renderChart(&svg, timelines, rows)
	if err := os.WriteFile(chart, []byte(svg.String()), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s and %s\n", outPath, chart)
	return nil
}

// chartScale is the scenario whose timelines the chart draws: 100 drains if
// run, else the largest below it, else the smallest.
func chartScale(sizes []int) int {
	best := 0
	for _, n := range sizes {
		if n <= 100 && n > best {
			best = n
		}
	}
	if best == 0 {
		best = sizes[0]
	}
	return best
}

// selectDesigns keeps the designs whose name matches the regular expression
// only (empty: all), so one design can be measured without the others.
func selectDesigns(ds []design, only string) ([]design, error) {
	re, err := regexp.Compile(only)
	if err != nil {
		return nil, fmt.Errorf("-designs: %w", err)
	}
	var out []design
	for _, d := range ds {
		if re.MatchString(d.Name) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-designs: %q matches no design", only)
	}
	return out, nil
}
