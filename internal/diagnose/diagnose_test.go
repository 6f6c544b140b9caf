package diagnose

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

var t0 = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

// Messages as ECS writes them
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages.html).
const (
	portMsg   = "service web was unable to place a task because no container instance met all of its requirements. The closest matching container-instance 5e3f5a9c is already using a port required by your task. For more information, see the Troubleshooting section."
	cpuMsg    = "service web was unable to place a task because no container instance met all of its requirements. The closest matching container-instance 5e3f5a9c has insufficient CPU units available. For more information, see the Troubleshooting section."
	memMsg    = "service web was unable to place a task because no container instance met all of its requirements. The closest matching container-instance 5e3f5a9c has insufficient memory available. For more information, see the Troubleshooting section."
	deployMsg = "service web was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
	steadyMsg = "service web has reached a steady state."
)

func TestClassify(t *testing.T) {
	web := Service{Name: "web", MinHealthyPercent: 50, MaxPercent: 200, Desired: 4, Running: 4}
	with := func(f func(*Service)) map[string]Service {
		s := web
		f(&s)
		return map[string]Service{"web": s}
	}
	task := Task{ARN: "t1", Service: "web", DesiredStatus: "RUNNING"}
	tests := []struct {
		name         string
		facts        Facts
		want         string
		wantResource string
	}{
		{"told to stop", Facts{Tasks: []Task{{ARN: "t1", Service: "web", DesiredStatus: "STOPPED"}}, Services: with(func(*Service) {})}, contract.ReasonStopping, ""},
		{"protected until later", Facts{Now: t0, Tasks: []Task{{ARN: "t1", Service: "web", DesiredStatus: "RUNNING", ProtectedUntil: t0.Add(time.Hour)}}, Services: with(func(*Service) {})}, contract.ReasonProtected, ""},
		{"protection expired", Facts{Now: t0, Tasks: []Task{{ARN: "t1", Service: "web", DesiredStatus: "RUNNING", ProtectedUntil: t0.Add(-time.Hour)}}, Services: with(func(s *Service) { s.Pending = 1 })}, contract.ReasonPlacing, ""},
		{"standalone", Facts{Tasks: []Task{{ARN: "t1", DesiredStatus: "RUNNING"}}}, contract.ReasonStandalone, ""},
		{"agent disconnected", Facts{Disconnected: true, Tasks: []Task{task}, Services: with(func(*Service) {})}, contract.ReasonAgentDisconnected, ""},
		{"daemon", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.Daemon = true })}, contract.ReasonDaemon, ""},
		{"minimum healthy 100, maximum 100", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.MinHealthyPercent, s.MaxPercent = 100, 100 })}, contract.ReasonDeploymentConfig, ""},
		{"the deployment configuration message", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.Events = []string{deployMsg} })}, contract.ReasonDeploymentConfig, ""},
		{"port message", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.Events = []string{portMsg} })}, contract.ReasonNoCapacity, "host port"},
		{"port message, the check names the port", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.Events = []string{portMsg}; s.Checked, s.Short = true, "host port 80" })}, contract.ReasonNoCapacity, "host port 80"},
		{"CPU message", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.Events = []string{cpuMsg} })}, contract.ReasonNoCapacity, "CPU"},
		{"memory message", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.Events = []string{memMsg} })}, contract.ReasonNoCapacity, "memory"},
		{"a Service Action event's reason", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.Placement = "RESOURCE:MEMORY" })}, contract.ReasonNoCapacity, "memory"},
		{"placed since the failure", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.Events = []string{steadyMsg, portMsg} })}, contract.ReasonUnknown, ""},
		{"a replacement pending", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.Pending = 1 })}, contract.ReasonPlacing, ""},
		{"no room and none coming (first hop's check)", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.Checked, s.Short = true, "host port 80" })}, contract.ReasonNoCapacity, "host port 80"},
		{"no room but an instance launching", Facts{Launching: 1, Tasks: []Task{task}, Services: with(func(s *Service) { s.Checked, s.Short = true, "host port 80" })}, contract.ReasonUnknown, ""},
		{"room elsewhere, nothing said", Facts{Tasks: []Task{task}, Services: with(func(s *Service) { s.Checked, s.Room = true, true })}, contract.ReasonUnknown, ""},
		{"a service task of a service not described", Facts{Tasks: []Task{task}}, contract.ReasonUnknown, ""},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diagnose(tt.facts)
			if len(got) != 1 || got[0].Reason != tt.want || got[0].Resource != tt.wantResource {
				t.Fatalf("Diagnose = %+v, want reason %q resource %q", got, tt.want, tt.wantResource)
			}
			seen[got[0].Reason] = true
		})
	}
	for _, r := range contract.Reasons() {
		if !seen[r] {
			t.Errorf("no row produces reason %q", r)
		}
	}
}

func TestKeyBlockedAndExplain(t *testing.T) {
	fs := []Finding{{Task: "a", Service: "web", Reason: contract.ReasonNoCapacity, Resource: "host port 80"}, {Task: "b", Service: "web", Reason: contract.ReasonNoCapacity, Resource: "host port 80"}}
	if got := Key(fs); got != "web=no_capacity(host port 80):2" {
		t.Errorf("Key = %q", got)
	}
	if !Blocked(fs) || Blocked(append(slices.Clone(fs), Finding{Reason: contract.ReasonPlacing})) || Blocked(nil) {
		t.Error("Blocked: want true only when every task has a blocking reason")
	}
	got := Explain(fs, 0)
	want := "service web needs host port 80 for 2 tasks: no other instance has it and none is launching; add capacity or lower its minimum healthy percent"
	if len(got) != 1 || got[0] != want {
		t.Errorf("Explain = %q\nwant %q", got, want)
	}
	for _, r := range contract.Reasons() {
		if s := Explain([]Finding{{Service: "web", Reason: r}}, 0); len(s) != 1 || !strings.HasPrefix(s[0], "service web") {
			t.Errorf("Explain(%s) = %q", r, s)
		}
	}
}
