package contract

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The contract must import only the standard library: infra/ imports it, so
// anything it pulled in would reach the construct's users (the AWS SDK) or
// the function's binary (the CDK).
func TestTheContractImportsOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const self = "github.com/ecs-drainer/ecs-drainer/internal/contract"
	for _, dep := range strings.Fields(string(out)) {
		if dep != self {
			t.Errorf("the contract depends on %s, want the standard library only", dep)
		}
	}
}

// Every duration variable's default must be a value its own range accepts,
// otherwise a function started without the variable, or a construct given
// no prop, would run with a value either side rejects.
func TestEveryDefaultIsInItsRange(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range DurationVars() {
		if !v.InRange(v.Default) {
			t.Errorf("%s default %s is outside %s", v.Env, v.Default, v.Range())
		}
		if !strings.HasPrefix(v.Env, "DRAINER_") || seen[v.Env] {
			t.Errorf("variable %q: want a DRAINER_ name, each once", v.Env)
		}
		seen[v.Env] = true
	}
}

func TestDurationVarCheck(t *testing.T) {
	tests := []struct {
		name  string
		v     DurationVar
		label string
		d     time.Duration
		want  string // "" when accepted
	}{
		{"the lowest poll interval", PollInterval, PollInterval.Env, time.Second, ""},
		{"the highest poll interval", PollInterval, PollInterval.Env, 15 * time.Minute, ""},
		{"a poll interval beyond SQS's message timer, in the function", PollInterval, PollInterval.Env, 16 * time.Minute,
			"DRAINER_POLL_INTERVAL 16m0s is out of range: want 1s to 15m0s (the wait rides on an SQS message timer, at most 900 s)"},
		{"a poll interval beyond SQS's message timer, in the construct", PollInterval, "PollInterval", 901 * time.Second,
			"PollInterval 15m1s is out of range: want 1s to 15m0s (DRAINER_POLL_INTERVAL: the wait rides on an SQS message timer, at most 900 s)"},
		{"a poll interval under a second", PollInterval, PollInterval.Env, 500 * time.Millisecond,
			"DRAINER_POLL_INTERVAL 500ms is out of range: want 1s to 15m0s"},
		{"a max drain of 0", MaxDrain, MaxDrain.Env, 0,
			"DRAINER_MAX_DRAIN 0s is out of range: want more than 0 and at most 48h0m0s (the longest Auto Scaling holds an instance on a lifecycle hook)"},
		{"a negative max drain", MaxDrain, MaxDrain.Env, -time.Hour, "DRAINER_MAX_DRAIN -1h0m0s is out of range"},
		{"a max drain of the global timeout's cap", MaxDrain, MaxDrain.Env, 48 * time.Hour, ""},
		{"a stop grace without a reason, in the construct", StopGrace, "StopGrace", 901 * time.Second,
			"StopGrace 15m1s is out of range: want 1s to 15m0s (DRAINER_STOP_GRACE)"},
		{"a stale-after without a reason, in the function", StaleAfter, StaleAfter.Env, 59 * time.Second,
			"DRAINER_STALE_AFTER 59s is out of range: want 1m0s to 24h0m0s"},
		{"disconnected-after 0 turns it off", DisconnectedAfter, DisconnectedAfter.Env, 0, ""},
		{"a negative disconnected-after", DisconnectedAfter, DisconnectedAfter.Env, -time.Minute,
			"DRAINER_DISCONNECTED_AFTER -1m0s is out of range: want 0 (off) to 48h0m0s"},
		{"a variable off at 0 with a lower bound", DurationVar{Env: "DRAINER_X", Off: true, Min: time.Second, Max: time.Minute}, "DRAINER_X", time.Millisecond,
			"DRAINER_X 1ms is out of range: want 0 (off), or 1s to 1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Check(tt.label, tt.d)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check(%q, %s) = %v, want accepted", tt.label, tt.d, err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Fatalf("Check(%q, %s) = %v, want an error starting %q", tt.label, tt.d, err, tt.want)
			}
		})
	}
}

func TestGlobalTimeoutIsTheSmallerOf48hAnd100Heartbeats(t *testing.T) {
	for hb, want := range map[time.Duration]time.Duration{
		10 * time.Minute: 1000 * time.Minute,
		2 * time.Hour:    48 * time.Hour,
	} {
		if got := GlobalTimeout(hb); got != want {
			t.Errorf("GlobalTimeout(%s) = %s, want %s", hb, got, want)
		}
	}
}

func TestCheckOnTimeout(t *testing.T) {
	for _, p := range []string{OnTimeoutContinue, OnTimeoutStopTasks, OnTimeoutAbandon, DefaultOnTimeout} {
		if err := CheckOnTimeout("DRAINER_ON_TIMEOUT", p); err != nil {
			t.Errorf("CheckOnTimeout(%q) = %v, want accepted", p, err)
		}
	}
	err := CheckOnTimeout("Targets[0].OnTimeout", "Abandon")
	want := `Targets[0].OnTimeout "Abandon" is not a timeout policy: want "continue", "stop-tasks" or "abandon"`
	if err == nil || err.Error() != want {
		t.Errorf("CheckOnTimeout(Abandon) = %v, want %s", err, want)
	}
}

// The hook metadata's keys are what hooks already deployed carry: renaming
// one would leave every existing hook unreadable until redeployed.
func TestHookMetadataKeys(t *testing.T) {
	for _, tt := range []struct {
		m    HookMetadata
		want string
	}{
		{HookMetadata{Cluster: "prod"}, `{"cluster":"prod"}`},
		{HookMetadata{Cluster: "prod", OnTimeout: OnTimeoutStopTasks}, `{"cluster":"prod","on_timeout":"stop-tasks"}`},
	} {
		got, err := json.Marshal(tt.m)
		if err != nil || string(got) != tt.want {
			t.Errorf("json.Marshal(%+v) = %s, %v; want %s", tt.m, got, err, tt.want)
		}
	}
}
