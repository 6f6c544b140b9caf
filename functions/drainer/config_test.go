package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/handler"
)

const queue = "https://sqs.us-east-1.amazonaws.com/123456789012/drainer"

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

var defaults = drain.Policy{PollInterval: 30 * time.Second, MaxDrain: time.Hour, OnTimeout: "continue", StopGrace: 2 * time.Minute, StaleAfter: 15 * time.Minute, DisconnectedAfter: 5 * time.Minute,
	MaxLaunch: 10 * time.Minute}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr string // names the variable
	}{
		{"defaults", map[string]string{"DRAINER_QUEUE_URL": queue},
			config{queueURL: queue, policy: defaults}, ""},
		{"everything set", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_CLUSTER": "prod", "DRAINER_ASGS": " a, b ,,c",
			"DRAINER_POLL_INTERVAL": "1m", "DRAINER_MAX_DRAIN": "48h", "DRAINER_ON_TIMEOUT": "stop-tasks", "DRAINER_STOP_GRACE": "90s",
			"DRAINER_STALE_AFTER": "30m", "DRAINER_HOOKS": "ecs-drainer, legacy-drainer", "DRAINER_DISCONNECTED_AFTER": "10m",
			"DRAINER_MAX_LAUNCH": "20m", "DRAINER_LAUNCH_DAEMONS": "true"},
			config{queueURL: queue, handler: handler.Config{Cluster: "prod", ASGs: []string{"a", "b", "c"}, Hooks: []string{"ecs-drainer", "legacy-drainer"}},
				policy: drain.Policy{PollInterval: time.Minute, MaxDrain: 48 * time.Hour, OnTimeout: "stop-tasks", StopGrace: 90 * time.Second, StaleAfter: 30 * time.Minute,
					DisconnectedAfter: 10 * time.Minute, MaxLaunch: 20 * time.Minute, LaunchDaemons: true}}, ""},
		{"launch daemons neither true nor false", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_LAUNCH_DAEMONS": "yes"}, config{}, "DRAINER_LAUNCH_DAEMONS"},
		{"max launch under a minute", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_MAX_LAUNCH": "30s"}, config{}, "DRAINER_MAX_LAUNCH"},
		{"disconnected after 0 disables it", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_DISCONNECTED_AFTER": "0"},
			config{queueURL: queue, policy: func() drain.Policy { p := defaults; p.DisconnectedAfter = 0; return p }()}, ""},
		{"disconnected after negative", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_DISCONNECTED_AFTER": "-5m"}, config{}, "DRAINER_DISCONNECTED_AFTER"},
		{"disconnected after not a duration", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_DISCONNECTED_AFTER": "5"}, config{}, "DRAINER_DISCONNECTED_AFTER"},
		{"a local emulator URL", map[string]string{"DRAINER_QUEUE_URL": "http://127.0.0.1:4566/000000000000/q"},
			config{queueURL: "http://127.0.0.1:4566/000000000000/q", policy: defaults}, ""},
		{"unknown timeout policy", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_ON_TIMEOUT": "retry"}, config{}, "DRAINER_ON_TIMEOUT"},
		{"stop grace under 1s", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_STOP_GRACE": "0s"}, config{}, "DRAINER_STOP_GRACE"},
		{"stale after under a minute", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_STALE_AFTER": "10s"}, config{}, "DRAINER_STALE_AFTER"},
		{"queue URL missing", map[string]string{}, config{}, "DRAINER_QUEUE_URL is required"},
		{"queue URL not a queue", map[string]string{"DRAINER_QUEUE_URL": "my-queue"}, config{}, "DRAINER_QUEUE_URL"},
		{"poll interval not a duration", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_POLL_INTERVAL": "30"}, config{}, "DRAINER_POLL_INTERVAL"},
		{"poll interval under 1s", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_POLL_INTERVAL": "500ms"}, config{}, "DRAINER_POLL_INTERVAL"},
		{"poll interval over SQS's 15m timer", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_POLL_INTERVAL": "16m"}, config{}, "DRAINER_POLL_INTERVAL"},
		{"max drain zero", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_MAX_DRAIN": "0s"}, config{}, "DRAINER_MAX_DRAIN"},
		{"max drain negative", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_MAX_DRAIN": "-1h"}, config{}, "DRAINER_MAX_DRAIN"},
		{"max drain over 48h", map[string]string{"DRAINER_QUEUE_URL": queue, "DRAINER_MAX_DRAIN": "49h"}, config{}, "DRAINER_MAX_DRAIN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("loadConfig error = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig error: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(config{})); diff != "" {
				t.Fatalf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The function must accept exactly the range the construct accepts for
// each variable, with the same words, or a stack the construct let through
// would fail at the function's init (or a value it refused would pass here).
func TestEveryDurationVariableIsCheckedAgainstTheContract(t *testing.T) {
	for _, v := range contract.DurationVars() {
		t.Run(v.Env, func(t *testing.T) {
			over := v.Max + time.Second
			_, err := loadConfig(env(map[string]string{contract.EnvQueueURL: queue, v.Env: over.String()}))
			want := v.Check(v.Env, over)
			if err == nil || err.Error() != want.Error() {
				t.Fatalf("loadConfig with %s=%s: error %v, want %v", v.Env, over, err, want)
			}
			if _, err := loadConfig(env(map[string]string{contract.EnvQueueURL: queue, v.Env: v.Max.String()})); err != nil {
				t.Fatalf("loadConfig with %s=%s (the maximum): %v, want accepted", v.Env, v.Max, err)
			}
		})
	}
}
