package ecs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
)

// post sends one raw awsJson1_1 request, the way the SDK frames it.
func post(t *testing.T, h http.Handler, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// The SDK needs the awsJson1_1 framing exactly: content type, request id,
// numbers for timestamps (an ISO string breaks deserialisation), and
// {"__type","message"} errors (smithy-go transport/http/protocol/awsjson).
func TestWireFormat(t *testing.T) {
	srv := New(clock.NewFake(start.Add(500*time.Millisecond)), Options{})
	srv.CreateCluster("default")
	if _, err := srv.RegisterContainerInstance("default", "i-1", Resources{}); err != nil {
		t.Fatal(err)
	}
	arn, err := srv.RunTask("default", "i-1", TaskSpec{Family: "batch"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a success carries the JSON 1.1 content type, a request id and epoch-second numbers", func(t *testing.T) {
		rec := post(t, srv, targetPrefix+"DescribeTasks", `{"tasks":["`+arn+`"]}`)
		if rec.Code != http.StatusOK {
			t.Fatalf("status: got %d, want 200; body %s", rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Content-Type"); got != "application/x-amz-json-1.1" {
			t.Errorf("Content-Type: got %q, want application/x-amz-json-1.1", got)
		}
		if rec.Header().Get("x-amzn-RequestId") == "" {
			t.Error("x-amzn-RequestId: got none, want a request id")
		}
		var body struct {
			Tasks []map[string]json.RawMessage `json:"tasks"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Tasks) != 1 {
			t.Fatalf("body %s: err %v", rec.Body, err)
		}
		if got, want := string(body.Tasks[0]["createdAt"]), "1795496400.5"; got != want {
			t.Errorf("createdAt: got %s, want the number %s", got, want)
		}
	})

	errTests := []struct {
		name, target, body string
		wantStatus         int
		wantBody           string
	}{
		{"an unknown operation is UnknownOperationException", targetPrefix + "DeleteEverything", `{}`, 400,
			`{"__type":"UnknownOperationException","message":"Unknown operation AmazonEC2ContainerServiceV20141113.DeleteEverything"}`},
		{"another service's target is an unknown operation", "AmazonSQS.SendMessage", `{}`, 400,
			`{"__type":"UnknownOperationException","message":"Unknown operation AmazonSQS.SendMessage"}`},
		{"an unknown cluster is ClusterNotFoundException", targetPrefix + "ListTasks", `{"cluster":"nope"}`, 400,
			`{"__type":"ClusterNotFoundException","message":"Cluster not found."}`},
		{"the cluster defaults to default", targetPrefix + "ListTasks", `{}`, 200,
			`{"taskArns":["` + arn + `"]}`},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(t, srv, tt.target, tt.body)
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("%s %s: got %d %s, want %d %s", tt.target, tt.body, rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// Throttling must reach the drainer as ThrottlingException after the SDK's
// retries, not as success or as some other error (aws-sdk-go-v2
// aws/retry/standard.go;
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html).
func TestThrottlingSurfacesAfterRetries(t *testing.T) {
	f := newFixture(t, Options{})
	f.srv.Throttle().Set("ListTasks", awswire.Bucket{Burst: 1, Rate: 1})
	if _, err := f.api.ListTasks(f.ctx, &ecssdk.ListTasksInput{Cluster: aws.String(clusterName)}); err != nil {
		t.Fatalf("first ListTasks within the burst: %v", err)
	}
	_, err := f.api.ListTasks(f.ctx, &ecssdk.ListTasksInput{Cluster: aws.String(clusterName)})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" || apiErr.ErrorMessage() != "Rate exceeded" {
		t.Fatalf("second ListTasks: got %v, want ThrottlingException: Rate exceeded", err)
	}
	if got := f.srv.Calls()["ListTasks"]; got != 4 {
		t.Errorf("ListTasks requests: got %d, want 4 (1 allowed + 3 attempts)", got)
	}
	if _, err := f.api.DescribeTasks(f.ctx, &ecssdk.DescribeTasksInput{Cluster: aws.String(clusterName), Tasks: []string{"x"}}); err != nil {
		t.Errorf("DescribeTasks, which has no bucket: got %v, want no throttling", err)
	}
	f.clk.Advance(time.Second)
	if _, err := f.api.ListTasks(f.ctx, &ecssdk.ListTasksInput{Cluster: aws.String(clusterName)}); err != nil {
		t.Errorf("ListTasks a second later, after the refill: %v", err)
	}
}

// Events feed the EventBridge emulator; their detail must be shaped like
// AWS's, with ISO timestamps and a version that grows with every change.
// See https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html.
func TestEventsFollowStateChanges(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	arn := f.runTask("i-1", TaskSpec{Family: "batch", RunFor: time.Minute})
	f.clk.Advance(time.Minute)
	f.srv.Settle()

	var got []string
	for _, e := range f.recorded(DetailTypeTask) {
		d := e.Detail.(taskDetail)
		if e.Source != "aws.ecs" || len(e.Resources) != 1 || e.Resources[0] != arn || d.TaskArn != arn {
			t.Errorf("task event %+v: want source aws.ecs and resources [%s]", e, arn)
		}
		got = append(got, fmt.Sprintf("%s %s %s v%d", d.LastStatus, d.DesiredStatus, d.UpdatedAt, d.Version))
	}
	want := []string{
		"PENDING RUNNING 2026-11-24T05:00:00.000Z v1",
		"RUNNING RUNNING 2026-11-24T05:00:00.000Z v2",
		"RUNNING STOPPED 2026-11-24T05:01:00.000Z v3",
		"STOPPED STOPPED 2026-11-24T05:01:00.000Z v4",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("task events:\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	last := f.recorded(DetailTypeTask)[3].Detail.(taskDetail)
	if last.StopCode != "EssentialContainerExited" || last.StoppedAt != "2026-11-24T05:01:00.000Z" || last.Group != "family:batch" {
		t.Errorf("stopped event detail: got stopCode %s, stoppedAt %s, group %s", last.StopCode, last.StoppedAt, last.Group)
	}
	body, err := json.Marshal(last)
	if err != nil || !strings.Contains(string(body), `"containerInstanceArn":"arn:aws:ecs:us-east-1:123456789012:container-instance/prod/`) {
		t.Errorf("marshalled detail %s (err %v): want the long container-instance ARN", body, err)
	}

	f.drain("i-1")
	instanceEvents := f.recorded(DetailTypeInstance)
	d := instanceEvents[len(instanceEvents)-1].Detail.(instanceDetail)
	if d.Status != "DRAINING" || d.EC2InstanceID != "i-1" || d.Version != f.instance("i-1").Version {
		t.Errorf("last instance event: got status %s, ec2 %s, version %d; want DRAINING, i-1, the instance's version %d",
			d.Status, d.EC2InstanceID, d.Version, f.instance("i-1").Version)
	}
	for n := 1; n < len(instanceEvents); n++ {
		if prev, cur := instanceEvents[n-1].Detail.(instanceDetail).Version, instanceEvents[n].Detail.(instanceDetail).Version; cur != prev+1 {
			t.Errorf("instance event %d: version %d after %d, want each change to add one", n, cur, prev)
		}
	}
}

// ServeHTTP must read the whole body whatever the SDK sends; a body that is
// not JSON is a client error, not a panic or a 500.
func TestMalformedBodyIsClientError(t *testing.T) {
	srv := New(clock.NewFake(start), Options{})
	rec := post(t, srv, targetPrefix+"ListTasks", `{"cluster":`)
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 400 || !strings.Contains(string(body), `"__type":"SerializationException"`) {
		t.Errorf("truncated JSON: got %d %s, want 400 SerializationException", rec.Code, body)
	}
}

// An empty list in a required list member must fail as ECS fails, with
// InvalidParameterException (not ClientException): the drainer classifies
// errors by type, and the SDK refuses only a nil list before sending, so a
// non-nil empty slice does reach ECS.
//
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeContainerInstances.html
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateContainerInstancesState.html
// (each list "Required: Yes"; the answers are OBSERVED, see emptyInstancesMessage
// and describeTasks).
func TestEmptyListsAreInvalidParameter(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	cluster := aws.String(clusterName)

	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"DescribeContainerInstances", func() error {
			_, err := f.api.DescribeContainerInstances(f.ctx, &ecssdk.DescribeContainerInstancesInput{Cluster: cluster, ContainerInstances: []string{}})
			return err
		}, "InvalidParameterException: Container instance cannot be empty."},
		{"DescribeTasks", func() error {
			_, err := f.api.DescribeTasks(f.ctx, &ecssdk.DescribeTasksInput{Cluster: cluster, Tasks: []string{}})
			return err
		}, "InvalidParameterException: Tasks cannot be empty."},
		{"UpdateContainerInstancesState", func() error {
			_, err := f.api.UpdateContainerInstancesState(f.ctx, &ecssdk.UpdateContainerInstancesStateInput{
				Cluster: cluster, ContainerInstances: []string{}, Status: "DRAINING",
			})
			return err
		}, "InvalidParameterException: Container instance cannot be empty."},
		{"PutAttributes", func() error {
			_, err := f.api.PutAttributes(f.ctx, &ecssdk.PutAttributesInput{Cluster: cluster, Attributes: []types.Attribute{}})
			return err
		}, "InvalidParameterException: "},
	}
	for _, tt := range tests {
		t.Run(tt.name+" with an empty list", func(t *testing.T) {
			err := tt.call()
			if !isInvalidParameter(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s with an empty list: got %v, want %s", tt.name, err, tt.want)
			}
		})
	}
}
