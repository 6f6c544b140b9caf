// Command soak runs the chaos soak (`make soak`): hundreds of drains in
// parallel on the local AWS, with the real bootstrap binary, under every
// fault at once, for several seeds. It prints one summary line per seed and
// exits non-zero if any invariant broke.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

func main() {
	drains := flag.Int("drains", 500, "drains per seed, all at once")
	seeds := flag.String("seeds", "1,2,3", "comma-separated seeds, one soak each")
	lose := flag.Float64("lose", 0.05, "share of re-queue messages lost outright (the reconciler must recover them)")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound on each soak")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the local AWS and the harness to this file")
	logs := flag.String("logs", "", "write the function's log lines, every seed's, to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*drains, *seeds, *lose, *timeout, *logs); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(drains int, seeds string, lose float64, timeout time.Duration, logPath string) error {
	ctx := context.Background()
	var logs io.Writer
	if logPath != "" {
		f, err := os.Create(logPath) // #nosec G304 -- a path the user names on the command line
		if err != nil {
			return err
		}
		defer f.Close()
		logs = f
	}
	dir, err := os.MkdirTemp("", "ecs-drainer-soak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := localdeploy.BuildBootstrap(ctx, dir)
	if err != nil {
		return err
	}
	d, err := localdeploy.Synthesize(ctx, "soak", SoakGroups)
	if err != nil {
		return err
	}
	failed := 0
	for _, s := range strings.Split(seeds, ",") {
		seed, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("seed %q: %w", s, err)
		}
		r, err := Soak(ctx, SoakConfig{
			Binary: bin, Deployment: d, Seed: seed, Drains: drains, Faults: SoakFaults, LoseRequeues: lose,
			Poison: 10, Chaos: max(1, drains/50), Timeout: timeout, Logs: logs,
		})
		if err != nil {
			return err
		}
		fmt.Println(r.Line())
		for _, v := range r.Violations {
			fmt.Println("  VIOLATION:", v)
		}
		if len(r.Violations) > 0 {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("invariants broke in %d soak(s)", failed)
	}
	return nil
}
