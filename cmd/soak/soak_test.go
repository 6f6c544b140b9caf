package main

import (
	"context"
	"testing"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// The short soak of `make test`: drains in parallel under every fault at
// once, with lost messages and chaos behind the drainer's back; every
// invariant must hold (`make soak` runs the long one). It takes about two
// minutes of wall clock, mostly the drains' own durations and the lost
// chains' minute to go stale; the timeout is only a hang guard, with room
// for a loaded machine and under go test's 10 minutes for the package.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the soak end to end; skipped with -short")
	}
	t.Parallel()
	ctx := context.Background()
	bootstrap, err := localdeploy.BuildBootstrap(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The soak's own cluster, as `make soak` synthesizes it: the ECS rules
	// match only the deployment's cluster, and the launch gate's ACTIVE
	// events are what recovers a lost launch chain.
	deployment, err := localdeploy.Synthesize(ctx, soakGroup, SoakGroups)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Soak(ctx, SoakConfig{
		Binary: bootstrap, Deployment: deployment, Seed: 1, Drains: 30, Faults: SoakFaults, LoseRequeues: 0.2, Poison: 4, Chaos: 2, Timeout: 6 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Line())
	for _, v := range r.Violations {
		t.Error(v)
	}
	m := r.Metrics
	t.Logf("EMF: every one of the function's %d lines checked against the specification; %d carried %d metric values; DrainsStarted %d for %d drains, DrainsEnded %d for %d completions",
		m.Lines, m.MetricLines, m.Data, m.Started, m.Drains, m.Ended, m.DrainsCompleted)
	if m.MetricLines == 0 || m.Started == 0 || m.Ended == 0 {
		t.Errorf("metrics %s: the soak checked no drain's metrics", m)
	}
	for _, kind := range []string{"throttle", "server_error", "duplicate_sqs", "duplicate_event"} {
		if r.Faults[kind] == 0 {
			t.Errorf("fault %s never fired: the soak did not test it", kind)
		}
	}
	l := r.Launch
	for name, n := range map[string]int{"launches let in once ready": l.Ready, "launches into a warm pool": l.IntoWarmPool,
		"launches abandoned on REGISTRATION_FAILED": l.RegistrationFailed, "launches abandoned at DRAINER_MAX_LAUNCH": l.Deadline,
		"refreshes that succeeded": l.RefreshesDone, "drains of refreshed or abandoned instances": r.LaunchDrains} {
		if n == 0 {
			t.Errorf("no %s: the soak did not test the launch gate there", name)
		}
	}
}
