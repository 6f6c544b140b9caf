package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

var update = flag.Bool("update", false, "rewrite "+templateFile+" from a fresh synth of the construct")

// regenerate is the command that rewrites the checked-in template.
const regenerate = "go test ./cmd/demo -run TestTheCheckedInTemplateIsTheConstructsSynth -update"

// assetHash is the function's code asset (its S3 key): a hash of the
// bootstrap that changes with every change to the function, left out of
// the checked-in template so that such a change does not touch it.
var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// The demo deploys the checked-in template, not a fresh synth: what it
// reads from it (the rules and their patterns, the function's settings and
// environment, the queues, the event source mappings) must be what the
// construct synthesizes for the demo's cluster and group, otherwise the
// demo shows a drainer that `cdk deploy` would not create.
func TestTheCheckedInTemplateIsTheConstructsSynth(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes the CDK app; skipped with -short")
	}
	t.Parallel()
	fresh, err := localdeploy.SynthesizeTemplate(context.Background(), cluster, []string{group})
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(templateFile, assetHash.ReplaceAll(fresh, []byte("asset-hash-left-out")), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", templateFile)
		return
	}
	want, err := localdeploy.ParseTemplate(fresh)
	if err != nil {
		t.Fatalf("reading the fresh synth: %v", err)
	}
	got, err := localdeploy.ParseTemplate(demoTemplate)
	if err != nil {
		t.Fatalf("reading cmd/demo/%s: %v; regenerate it with\n\t%s", templateFile, err, regenerate)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cmd/demo/%s differs from a fresh synth for cluster %q and group %q in what the demo deploys (-synth +checked in):\n%s\nregenerate it with\n\t%s",
			templateFile, cluster, group, diff, regenerate)
	}
}

// The demo must end as `make demo` promises: every action completed by the
// drainer, none released with a task running, the other team's hook and
// the warm pool included. Timings are shortened to keep it to seconds.
func TestTheDemoDrainsEveryInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the function end to end; skipped with -short")
	}
	t.Parallel()
	var out bytes.Buffer
	o := options{instances: 3, scaleIn: 1, tasks: 1, poll: time.Second, stopDelay: time.Second, jobFor: 2 * time.Second,
		maxDrain: time.Minute, heartbeat: 30, otherHook: "log-flush", flush: time.Second, warm: true}
	err := run(context.Background(), o, &out)
	if err != nil || !strings.Contains(out.String(), "OK: every lifecycle action") {
		t.Fatalf("demo with %+v: %v, want OK; its output:\n%s", o, err, &out)
	}
}
