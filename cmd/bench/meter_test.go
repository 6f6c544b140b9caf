package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

func TestMeterCountsOperationsAndThrottles(t *testing.T) {
	// The meter must count each service's throttling answer by operation,
	// otherwise the table's "throttled" column reads zero under throttling.
	m := &meter{calls: map[string]int{}, throttled: map[string]int{}}
	m.forward(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Amz-Target") {
		case "AmazonEC2ContainerServiceV20141113.ListTasks":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
		default:
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	send := func(target, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		if target != "" {
			r.Header.Set("X-Amz-Target", target)
		}
		m.ServeHTTP(httptest.NewRecorder(), r)
	}
	send("AmazonEC2ContainerServiceV20141113.ListTasks", "{}")
	send("AmazonEC2ContainerServiceV20141113.DescribeTasks", "{}")
	send("AmazonSQS.SendMessage", "{}")
	send("", "Action=CompleteLifecycleAction&Version=2011-01-01")
	calls, throttled := m.counts()
	for op, want := range map[string]int{"ECS.ListTasks": 1, "ECS.DescribeTasks": 1, "SQS.SendMessage": 1, "AutoScaling.CompleteLifecycleAction": 1} {
		if calls[op] != want {
			t.Errorf("calls[%s] = %d, want %d (all: %v)", op, calls[op], want, calls)
		}
	}
	if len(throttled) != 1 || throttled["ECS.ListTasks"] != 1 {
		t.Errorf("throttled = %v, want only ECS.ListTasks 1", throttled)
	}
}

// mostPerRound counts the busiest poll round by looks, not by time: an
// instance's k-th look is in round k, and a call that mixes rounds is in the
// round of most of its instances.
func TestMostPerRound(t *testing.T) {
	tests := []struct {
		name  string
		calls [][]string
		want  int
	}{
		{"none", nil, 0},
		{"one call of three instances is one round of one call", [][]string{{"a", "b", "c"}}, 1},
		{"three drains polled together, twice: one call a round", [][]string{{"a", "b", "c"}, {"a", "b", "c"}}, 1},
		{"a round split over three calls", [][]string{{"a"}, {"b"}, {"c"}, {"a", "b", "c"}}, 3},
		{"a call mixing rounds is in its majority's", [][]string{{"a"}, {"b"}, {"a", "b", "c"}, {"c"}}, 2},
		{"a tie is in the earlier round", [][]string{{"a"}, {"b"}, {"a", "c"}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mostPerRound(tt.calls); got != tt.want {
				t.Errorf("mostPerRound = %d, want %d", got, tt.want)
			}
		})
	}
}

// Only the poll queue's invocations' describes are poll rounds: those of
// event-driven invocations are told apart by the trace header the function's
// SDK sends, and failed calls (throttled) are not looks.
func TestMeterCountsDescribesOfPollInvocationsOnly(t *testing.T) {
	m := &meter{calls: map[string]int{}, throttled: map[string]int{}, polls: map[string]bool{}}
	throttle := false
	m.forward(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			t.Errorf("reading the body the meter put back: %v", err)
		}
		if throttle {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	poll, event := "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0123456789abcdef;Sampled=1"
	m.invoked(localdeploy.PollQueue, poll)
	m.invoked(localdeploy.EventQueue, event)
	describe := func(trace string, instances ...string) {
		body := `{"cluster":"c","containerInstances":["` + strings.Join(instances, `","`) + `"]}`
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeContainerInstances")
		r.Header.Set("X-Amzn-Trace-Id", trace)
		m.ServeHTTP(httptest.NewRecorder(), r)
	}
	describe(poll, "a", "b")
	describe(event, "a")
	describe(event, "b")
	describe(poll, "c")
	throttle = true
	describe(poll, "a")
	if got := m.describesPerPollRound(); got != 2 {
		t.Errorf("describesPerPollRound = %d, want 2 (round 0: {a,b} and {c}; the event-driven and throttled calls not counted)", got)
	}
}
