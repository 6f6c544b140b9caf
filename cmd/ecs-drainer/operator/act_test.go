package operator_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/ecs-drainer/ecs-drainer/cmd/ecs-drainer/operator"
	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
)

// release must complete the drainer's action only after a yes, otherwise a
// slip of the keyboard terminates an instance with its tasks running.
func TestReleaseAsksFirst(t *testing.T) {
	for _, tt := range []struct {
		name, in   string
		args       []string
		wantCode   int
		wantResult string // "": the action is still pending
	}{
		{"y releases with CONTINUE", "y\n", nil, 0, autoscaling.ResultContinue},
		{"yes releases", "yes\n", nil, 0, autoscaling.ResultContinue},
		{"n declines", "n\n", nil, 1, ""},
		{"an empty line declines", "\n", nil, 1, ""},
		{"no answer (end of input) declines", "", nil, 1, ""},
		{"--yes does not ask", "", []string{"--yes"}, 0, autoscaling.ResultContinue},
		{"--abandon completes with ABANDON", "y\n", []string{"--abandon"}, 0, autoscaling.ResultAbandon},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			code, out, errOut := w.run(tt.in, append([]string{"release", "i-0"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("release %v with input %q: exit %d, want %d; stdout %s; stderr %s", tt.args, tt.in, code, tt.wantCode, out, errOut)
			}
			asked := strings.Contains(out, "Release i-00000000000000000 with 1 task running (")
			if wantAsked := !strings.Contains(strings.Join(tt.args, " "), "--yes"); asked != wantAsked {
				t.Errorf("asked %v, want %v:\n%s", asked, wantAsked, out)
			}
			if !strings.Contains(out, "1 task left on i-00000000000000000") || !strings.Contains(out, "no_capacity (host port 80)") {
				t.Errorf("release shows no task left with its reason:\n%s", out)
			}
			a, _ := w.aws.AutoScaling.Action(w.ids[0], contract.HookName)
			switch {
			case tt.wantResult == "" && !a.Active:
				t.Errorf("action ended (%s %s) after %q, want it pending", a.End, a.Result, tt.in)
			case tt.wantResult != "" && (a.Active || a.Result != tt.wantResult):
				t.Errorf("action active %v result %q, want completed with %s", a.Active, a.Result, tt.wantResult)
			}
			if other, _ := w.aws.AutoScaling.Action(w.ids[0], otherHook); tt.wantResult != autoscaling.ResultAbandon && !other.Active {
				t.Errorf("the other team's action on the instance ended, want it left alone")
			}
		})
	}
}

// release must refuse an action that is not the drainer's, and name whose
// it is, otherwise an operator cuts another team's log flush short.
func TestReleaseRefusesAnotherHooksAction(t *testing.T) {
	w := newWorld(t)
	code, _, errOut := w.run("", "release", "i-other", "--yes")
	if code != 1 || !strings.Contains(errOut, "waits on hook [log-flush], not on the drainer's") {
		t.Fatalf("release of an instance held by log-flush only: exit %d, stderr %q; want 1 naming log-flush", code, errOut)
	}
	if a, _ := w.aws.AutoScaling.Action(w.other, otherHook); !a.Active {
		t.Error("the other hook's action ended")
	}
}

func TestReleaseOfAnActionAlreadyOver(t *testing.T) {
	w := newWorld(t)
	if code, _, errOut := w.run("", "release", "i-0", "--yes"); code != 0 {
		t.Fatalf("first release: exit %d: %s", code, errOut)
	}
	code, _, errOut := w.run("", "release", "i-0", "--yes")
	if code != 1 || !strings.Contains(errOut, "already over") {
		t.Fatalf("second release: exit %d, stderr %q; want 1 saying the action is already over", code, errOut)
	}
}

// drain must put the restart on the queue as the reconciler's sweep does:
// a lifecycle event without a token, delayed by the restart grace.
func TestDrainQueuesARestart(t *testing.T) {
	w := newWorld(t)
	url, err := w.aws.SQS.CreateQueue("drainer", nil)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := w.run("", "drain", "i-1", "--queue-url", url)
	if code != 0 || !strings.Contains(out, "drain of i-00000000000000001 queued") {
		t.Fatalf("drain: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, _, delayed := w.aws.SQS.Counts(url); delayed != 1 {
		t.Fatalf("%d delayed messages on the queue, want the restart", delayed)
	}
	w.clk.Advance(time.Minute)
	msgs, err := w.aws.SQS.Receive(context.Background(), url, 10, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receiving the restart: %v %v", msgs, err)
	}
	in, err := lifecycle.Parse([]byte(msgs[0].Body))
	if err != nil || in.Action == nil {
		t.Fatalf("the restart %s is no lifecycle event: %v", msgs[0].Body, err)
	}
	if a := in.Action; a.InstanceID != w.ids[1] || a.HookName != contract.HookName || a.GroupName != group || a.Token != "" {
		t.Errorf("restart of %+v, want %s on %s of %s with no token", a, w.ids[1], contract.HookName, group)
	}
	var env struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(msgs[0].Body), &env)
	if !strings.HasPrefix(env.ID, "ecs-drainer-cli-") {
		t.Errorf("event id %q, want one that names the command", env.ID)
	}
}

// Scripts branch on the exit code: 0 ok, 1 error, 2 usage.
func TestExitCodes(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct {
		name string
		args []string
		want int
		says string
	}{
		{"version", []string{"version"}, 0, ""},
		{"help", []string{"status", "--help"}, 0, ""},
		{"an unknown command", []string{"drains"}, 2, `unknown command "drains"`},
		{"an unknown flag", []string{"status", "--colour"}, 2, "unknown flag: --colour"},
		{"an unknown output", []string{"status", "-o", "yaml"}, 2, `-o "yaml": want table or json`},
		{"explain without an instance", []string{"explain"}, 2, "want one EC2 instance id"},
		{"drain without the queue", []string{"drain", "i-1"}, 2, "drain needs --queue-url"},
		{"a policy flag out of range", []string{"status", "--stale-after", "10s"}, 2, "--stale-after 10s is out of range"},
		{"an instance in no group", []string{"explain", "i-0123456789abcdef0"}, 1, "instance i-0123456789abcdef0 not found in any auto scaling group"},
		{"an instance not waiting", []string{"explain", "i-2"}, 1, "is InService: it waits on none of the drainer's hooks"},
		{"a group that does not exist", []string{"status", "--group", "asg-9"}, 1, "auto scaling group asg-9 not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := w.run("", tt.args...)
			if code != tt.want || !strings.Contains(errOut, tt.says) {
				t.Errorf("%v: exit %d, stderr %q; want %d and %q (stdout %q)", tt.args, code, errOut, tt.want, tt.says, out)
			}
		})
	}
}

// denyOne is an SDK option that answers one operation as IAM refuses a
// call, with IAM's message: the local AWS has no IAM.
func denyOne(operation string) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("test/deny", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if middleware.GetOperationName(ctx) == operation {
				return middleware.InitializeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "AccessDeniedException",
					Message: "User: arn:aws:iam::123456789012:user/operator is not authorized to perform: ecs:" + operation + " on resource: arn:aws:ecs:us-east-1:123456789012:container-instance/c1/*"}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	}
}

// A refused call must name the permission to grant, otherwise the operator
// reads an SDK error and guesses.
func TestADeniedCallNamesThePermission(t *testing.T) {
	w := newWorld(t)
	o := operator.Options{Config: func(context.Context, string, string) (aws.Config, error) {
		cfg := w.cfg.Copy()
		cfg.APIOptions = append(cfg.APIOptions, denyOne("ListTasks"))
		return cfg, nil
	}}
	code, _, errOut := w.runWith(o, "", "status")
	want := "missing permission ecs:ListTasks on arn:aws:ecs:us-east-1:123456789012:container-instance/c1/*"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("status with ListTasks denied: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
}

// --watch redraws until its ticks stop (or it is interrupted); the test's
// ticks are a channel it closes, not wall time.
func TestWatchRedrawsOnEachTick(t *testing.T) {
	w := newWorld(t)
	ticks := make(chan time.Time, 2)
	ticks <- t0
	ticks <- t0
	close(ticks)
	stopped := false
	o := operator.Options{Ticks: func(every time.Duration) (<-chan time.Time, func()) {
		if every != 7*time.Second {
			t.Errorf("ticks every %s, want --interval's 7s", every)
		}
		return ticks, func() { stopped = true }
	}}
	code, out, errOut := w.runWith(o, "", "status", "--watch", "--interval", "7s")
	if code != 0 {
		t.Fatalf("watch: exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, "GROUP  CLUSTER"); n != 3 {
		t.Errorf("%d frames, want 3 (the first and one per tick):\n%s", n, out)
	}
	if strings.Contains(out, "\x1b") {
		t.Error("escape sequences written to a stdout that is not a terminal")
	}
	if !stopped {
		t.Error("the ticker was not stopped")
	}
}

// The command reads the standard AWS configuration: AWS_REGION and the
// AWS_ENDPOINT_URL_* variables point it at the local AWS.
func TestStatusWithTheStandardConfiguration(t *testing.T) {
	w := newWorld(t)
	for _, kv := range w.aws.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	var out, errOut strings.Builder
	code := operator.Run(context.Background(), []string{"status"}, operator.IO{In: strings.NewReader(""), Out: &out, Err: &errOut}, operator.Options{Now: w.clk.Now})
	if code != 0 || strings.Count(out.String(), "ecs-drainer") != 2 {
		t.Fatalf("status through the environment: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}
