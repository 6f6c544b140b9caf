package lifecycle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A terminate action read wrongly drains the wrong instance or none at all:
// every field of AWS's own samples must come through.
func TestParseReadsAWSTerminateSamples(t *testing.T) {
	tests := []struct {
		file string
		want Action
	}{
		{"terminate-action.json", Action{
			EventID: "12345678-1234-1234-1234-123456789012", Time: time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC),
			Token: "87654321-4321-4321-4321-210987654321", GroupName: "my-asg", HookName: "my-lifecycle-hook",
			InstanceID: "i-1234567890abcdef0", Transition: TransitionTerminate,
			NotificationMetadata: `{"cluster":"my-cluster"}`, Origin: "AutoScalingGroup", Destination: "EC2",
		}},
		{"terminate-action-no-metadata.json", Action{
			EventID: "12345678-1234-1234-1234-123456789012", Time: time.Unix(0, 0).UTC(),
			Token: "87654321-4321-4321-4321-210987654321", GroupName: "my-asg", HookName: "my-lifecycle-hook",
			InstanceID: "i-1234567890abcdef0", Transition: TransitionTerminate,
		}},
		{"warm-pool-terminate-action.json", Action{
			EventID: "5b4924d0-0f8f-4c1a-8f7e-1c5b1fd43a4e", Time: time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC),
			Token: "71514b9d-6a40-4b26-8523-05e7eEXAMPLE", GroupName: "my-asg", HookName: "my-lifecycle-hook",
			InstanceID: "i-1234567890abcdef0", Transition: TransitionTerminate, Origin: "AutoScalingGroup", Destination: "WarmPool",
		}},
		// The launch gate's event (Example 3 of
		// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html).
		{"launch-action.json", Action{
			EventID: "468fbf7b-ef0d-4b5f-9c20-4c1b4e0d1a9e", Time: time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC),
			Token: "87654321-4321-4321-4321-210987654321", GroupName: "my-asg", HookName: "my-launch-hook",
			InstanceID: "i-1234567890abcdef0", Transition: TransitionLaunch, Origin: "EC2", Destination: "AutoScalingGroup",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in, err := Parse(readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("Parse(%s) error: %v", tt.file, err)
			}
			if in.Action == nil {
				t.Fatalf("Parse(%s) = %+v, want an action", tt.file, in)
			}
			if diff := cmp.Diff(tt.want, *in.Action); diff != "" {
				t.Errorf("Parse(%s) action mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

// The reconciler's scheduled event (the sample from the EventBridge docs'
// "Schedule expressions" page) asks for a sweep, not a drain.
func TestParseRecognisesTheScheduledEvent(t *testing.T) {
	in, err := Parse(readTestdata(t, "scheduled-event.json"))
	if err != nil || !in.Reconcile || in.Action != nil || in.Message != nil || in.Ignored != "" {
		t.Fatalf("Parse(scheduled-event.json) = %+v, %v; want only Reconcile", in, err)
	}
}

// Events the rule may deliver but that need no drain must be acknowledged,
// not sent to the DLQ, and not acted on.
func TestParseIgnoresEventsThatNeedNoDrain(t *testing.T) {
	for _, file := range []string{"spot-interruption.json", "test-notification.json"} {
		t.Run(file, func(t *testing.T) {
			in, err := Parse(readTestdata(t, file))
			if err != nil {
				t.Fatalf("Parse(%s) error: %v, want ignored", file, err)
			}
			if in.Ignored == "" || in.Action != nil || in.Message != nil {
				t.Fatalf("Parse(%s) = %+v, want only Ignored set", file, in)
			}
		})
	}
}

// A task that stopped on a container instance and an instance that is
// DRAINING must reach the drainer naming the instance, or a drain whose last
// task just stopped waits for its next poll.
func TestParseReadsECSEventsThatMayEndADrain(t *testing.T) {
	tests := []struct {
		file string
		want ECSEvent
	}{
		{"ecs-task-stopped.json", ECSEvent{
			EventID: "3317b2af-7005-947d-b652-f55e762e571a", Time: time.Date(2020, 1, 23, 17, 58, 58, 0, time.UTC),
			DetailType:           DetailTypeTaskState,
			ClusterARN:           "arn:aws:ecs:us-west-2:111122223333:cluster/web",
			ContainerInstanceARN: "arn:aws:ecs:us-west-2:111122223333:container-instance/web/b54a2a04046f43319d743f6d7f6ca315",
			TaskARN:              "arn:aws:ecs:us-west-2:111122223333:task/web/c13b4cb40f1f4fe4a2971f76ae5a47ad",
			StoppedAt:            time.Date(2020, 1, 23, 17, 58, 57, 811000000, time.UTC),
			TasksReported:        -1,
		}},
		{"ecs-container-instance-draining.json", ECSEvent{
			EventID: "a7d6fb28-50d0-4b4c-9e84-2a8f24d6c1e5", Time: time.Date(2016, 12, 6, 16, 41, 6, 0, time.UTC),
			DetailType:           DetailTypeInstanceState,
			ClusterARN:           "arn:aws:ecs:us-east-1:111122223333:cluster/default",
			ContainerInstanceARN: "arn:aws:ecs:us-east-1:111122223333:container-instance/b54a2a04-046f-4331-9d74-3f6d7f6ca315",
			EC2InstanceID:        "i-f3a8506b",
			Reserved:             true, // 1988 of 2048 CPU units left
			Status:               "DRAINING",
		}},
		// An ACTIVE instance with its agent connected may open a launch
		// gate; the event's counts say whether it has tasks yet.
		{"ecs-container-instance-state-change.json", ECSEvent{
			EventID: "8952ba83-7be2-4ab5-9c32-6687532d15a2", Time: time.Date(2016, 12, 6, 16, 41, 6, 0, time.UTC),
			DetailType:           DetailTypeInstanceState,
			ClusterARN:           "arn:aws:ecs:us-east-1:111122223333:cluster/default",
			ContainerInstanceARN: "arn:aws:ecs:us-east-1:111122223333:container-instance/b54a2a04-046f-4331-9d74-3f6d7f6ca315",
			EC2InstanceID:        "i-f3a8506b",
			Reserved:             true, // a task holds CPU: the sample instance is not new
			Status:               "ACTIVE",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in, err := Parse(readTestdata(t, tt.file))
			if err != nil || in.ECS == nil {
				t.Fatalf("Parse(%s) = %+v, %v; want an ECS event", tt.file, in, err)
			}
			if diff := cmp.Diff(tt.want, *in.ECS); diff != "" {
				t.Errorf("Parse(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
	t.Run("the cluster's name is the ARN's last part", func(t *testing.T) {
		if got := (ECSEvent{ClusterARN: "arn:aws:ecs:us-west-2:111122223333:cluster/web"}).Cluster(); got != "web" {
			t.Errorf("Cluster() = %q, want web", got)
		}
	})
	t.Run("a task not yet stopped, or an instance neither draining nor ACTIVE and connected, is ignored", func(t *testing.T) {
		for _, body := range []string{
			strings.Replace(string(readTestdata(t, "ecs-task-stopped.json")), `"lastStatus": "STOPPED"`, `"lastStatus": "RUNNING"`, 1),
			strings.Replace(string(readTestdata(t, "ecs-task-stopped.json")), `"containerInstanceArn"`, `"x"`, 1),
			strings.Replace(string(readTestdata(t, "ecs-container-instance-state-change.json")), `"agentConnected": true`, `"agentConnected": false`, 1),
			strings.Replace(string(readTestdata(t, "ecs-container-instance-state-change.json")), `"status": "ACTIVE"`, `"status": "INACTIVE"`, 1),
		} {
			if in, err := Parse([]byte(body)); err != nil || in.Ignored == "" {
				t.Errorf("Parse = %+v, %v; want ignored", in, err)
			}
		}
	})
	t.Run("an ECS event naming no cluster is an error", func(t *testing.T) {
		body := strings.Replace(string(readTestdata(t, "ecs-task-stopped.json")), `"clusterArn"`, `"x"`, 1)
		if _, err := Parse([]byte(body)); err == nil {
			t.Error("Parse of a task event with no clusterArn: no error, want one")
		}
	})
}

// A body that can never succeed must be an error (so it reaches the DLQ with
// its reason), never a silent success.
func TestParseRejectsBodiesThatCanNeverSucceed(t *testing.T) {
	valid := string(readTestdata(t, "terminate-action.json"))
	msg, err := validMessage().Encode()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body, wantErr string
	}{
		{"not JSON", `hello`, "not a JSON object"},
		{"a JSON array", `[1,2]`, "not a JSON object"},
		{"an unrelated object", `{"foo":1}`, "neither an EventBridge event"},
		{"terminate event without detail", `{"detail-type":"EC2 Instance-terminate Lifecycle Action","source":"aws.autoscaling","time":"2026-11-24T05:00:00Z"}`, "has no detail"},
		{"detail of the wrong type", strings.Replace(valid, `"EC2InstanceId": "i-1234567890abcdef0"`, `"EC2InstanceId": 42`, 1), "decoding terminate lifecycle detail"},
		{"missing instance id", strings.Replace(valid, `"EC2InstanceId": "i-1234567890abcdef0",`, ``, 1), "no EC2InstanceId"},
		{"an instance id that would widen the ECS filter", strings.Replace(valid, `"i-1234567890abcdef0"`, `"i-1234567890abcdef0 or runningTasksCount > 0"`, 1), "not an EC2 instance id"},
		{"metadata larger than Auto Scaling allows", strings.Replace(valid, `"{\"cluster\":\"my-cluster\"}"`, `"`+strings.Repeat("x", 4001)+`"`, 1), "more than the 4000"},
		{"missing group", strings.Replace(valid, `"AutoScalingGroupName": "my-asg",`, ``, 1), "no AutoScalingGroupName"},
		{"missing hook", strings.Replace(valid, `"LifecycleHookName": "my-lifecycle-hook",`, ``, 1), "no LifecycleHookName"},
		{"launch transition in a terminate event", strings.Replace(valid, TransitionTerminate, TransitionLaunch, 1), "has transition"},
		{"terminate transition in a launch event", strings.Replace(valid, DetailTypeTerminate, DetailTypeLaunch, 1), "has transition"},
		{"a future message version", strings.Replace(string(msg), `"version":1`, `"version":2`, 1), "version 2 is not supported"},
		{"a message with an unknown field", strings.Replace(string(msg), `"version":1`, `"version":1,"shard":3`, 1), "unknown field"},
		{"a message without cluster", strings.Replace(string(msg), `"cluster":"c1"`, `"cluster":""`, 1), "no cluster"},
		{"a message of another kind", strings.Replace(string(msg), MessageKind, "other/kind", 1), "want \"ecs-drainer/requeue\""},
		{"larger than 1 MiB", `{"x":"` + strings.Repeat("a", 1<<20) + `"}`, "larger than the 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Parse([]byte(tt.body))
			if err == nil {
				t.Fatalf("Parse = %+v, want error containing %q", in, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func validMessage() Message {
	start := time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)
	return Message{
		EventID: "e1", Cluster: "c1", GroupName: "asg", HookName: "hook", InstanceID: "i-0123456789abcdef0",
		Token: "87654321-4321-4321-4321-210987654321", ContainerInstanceARN: "arn:aws:ecs:us-east-1:123456789012:container-instance/c1/abc",
		Start: start, Deadline: start.Add(time.Hour), HeartbeatTimeoutSeconds: 300, LastHeartbeat: start, Attempt: 3,
	}
}

// The re-queue message is the only memory a drain has: it must come back
// exactly as it was sent.
func TestMessageRoundTrips(t *testing.T) {
	m := validMessage()
	body, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	in, err := Parse(body)
	if err != nil {
		t.Fatalf("Parse(Encode(m)) error: %v", err)
	}
	m.Kind, m.Version = MessageKind, MessageVersion
	if diff := cmp.Diff(m, *in.Message); diff != "" {
		t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestParseHookMetadata(t *testing.T) {
	tests := []struct {
		name, metadata string
		want           HookMetadata
		wantOK         bool
		wantErr        bool
	}{
		{"no metadata", "", HookMetadata{}, false, false},
		{"cluster named", `{"cluster":"prod"}`, HookMetadata{Cluster: "prod"}, true, false},
		{"cluster and timeout policy", `{"cluster":"prod","on_timeout":"abandon"}`, HookMetadata{Cluster: "prod", OnTimeout: "abandon"}, true, false},
		{"other keys only", `{"team":"x"}`, HookMetadata{}, false, false},
		{"not JSON", `cluster=prod`, HookMetadata{}, false, true},
		{"empty cluster", `{"cluster":""}`, HookMetadata{}, false, true},
		{"cluster of the wrong type", `{"cluster":7}`, HookMetadata{}, false, true},
		{"unknown timeout policy", `{"cluster":"prod","on_timeout":"explode"}`, HookMetadata{}, false, true},
		{"the group's own stuck_after", `{"cluster":"prod","stuck_after":"20m"}`, HookMetadata{Cluster: "prod", StuckAfter: "20m"}, true, false},
		{"stuck_after 0 turns it off for the group", `{"cluster":"prod","stuck_after":"0"}`, HookMetadata{Cluster: "prod", StuckAfter: "0"}, true, false},
		{"stuck_after not a duration", `{"cluster":"prod","stuck_after":"20"}`, HookMetadata{}, false, true},
		{"stuck_after past 48 h", `{"cluster":"prod","stuck_after":"49h"}`, HookMetadata{}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ParseHookMetadata(tt.metadata)
			if got != tt.want || ok != tt.wantOK || (err != nil) != tt.wantErr {
				t.Fatalf("ParseHookMetadata(%q) = %+v, %v, %v; want %+v, %v, error %v", tt.metadata, got, ok, err, tt.want, tt.wantOK, tt.wantErr)
			}
		})
	}
}

// Whatever arrives on the queue, Parse must return, never panic, and never
// return both an error and work to do.
func FuzzParse(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		f.Add(readTestdata(f, e.Name()))
	}
	msg, _ := validMessage().Encode()
	f.Add(msg)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := Parse(body)
		set := 0
		if in.Action != nil {
			set++
		}
		if in.Message != nil {
			set++
		}
		if in.Ignored != "" {
			set++
		}
		if in.Reconcile {
			set++
		}
		if in.ECS != nil {
			set++
		}
		if in.ServiceAction != nil {
			set++
		}
		if err != nil && set != 0 {
			t.Fatalf("Parse returned error %v and input %+v", err, in)
		}
		if err == nil && set != 1 {
			t.Fatalf("Parse returned %+v: want exactly one of Action, Message, ECS, ServiceAction, Reconcile, Ignored", in)
		}
		if in.Action != nil && in.Action.validate(in.Action.Transition) != nil {
			t.Fatalf("Parse returned an invalid action %+v", in.Action)
		}
	})
}

func TestReserved(t *testing.T) {
	full := map[string]int{"CPU": 2048, "MEMORY": 3767}
	tests := []struct {
		name                  string
		registered, remaining map[string]int
		want                  bool
	}{
		{"nothing reserved", full, map[string]int{"CPU": 2048, "MEMORY": 3767}, false},
		{"CPU reserved", full, map[string]int{"CPU": 1988, "MEMORY": 3767}, true},
		{"memory reserved", full, map[string]int{"CPU": 2048, "MEMORY": 767}, true},
		{"remaining not reported", full, nil, false},
		{"registered not reported", nil, map[string]int{"CPU": 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reserved(tt.registered, tt.remaining); got != tt.want {
				t.Errorf("Reserved(%v, %v) = %v, want %v", tt.registered, tt.remaining, got, tt.want)
			}
		})
	}
}

// A placement failure names the service and ECS's reason: a drain waiting
// for that service's tasks can say why at once. Other service actions are
// acknowledged and ignored. The sample is the EC2 example of
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html.
func TestParseReadsServicePlacementFailures(t *testing.T) {
	body := string(readTestdata(t, "ecs-service-task-placement-failure.json"))
	in, err := Parse([]byte(body))
	if err != nil || in.ServiceAction == nil {
		t.Fatalf("Parse = %+v, %v; want a service action", in, err)
	}
	a := *in.ServiceAction
	if a.Cluster() != "default" || a.Service() != "servicetest" || a.Reason != "RESOURCE:CPU" {
		t.Errorf("service action %+v: cluster %q, service %q, want default, servicetest, RESOURCE:CPU", a, a.Cluster(), a.Service())
	}
	steady := strings.Replace(body, "SERVICE_TASK_PLACEMENT_FAILURE", "SERVICE_STEADY_STATE", 1)
	if in, err := Parse([]byte(steady)); err != nil || in.Ignored == "" {
		t.Errorf("Parse(steady state) = %+v, %v; want ignored", in, err)
	}
	if _, err := Parse([]byte(strings.Replace(body, `"arn:aws:ecs:us-west-2:111122223333:service/default/servicetest"`, ``, 1))); err == nil {
		t.Error("a placement failure naming no service parsed")
	}
}
