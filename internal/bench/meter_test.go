package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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

// mostWithin counts the busiest poll round: the most calls within any span
// shorter than the window, wherever the span starts.
func TestMostWithin(t *testing.T) {
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, time.Unix(0, 0).Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	tests := []struct {
		name  string
		times []time.Time
		want  int
	}{
		{"none", nil, 0},
		{"one", at(5), 1},
		{"all within the window", at(0, 100, 2999), 3},
		{"a window's length apart is two rounds", at(0, 3000), 1},
		{"the busiest span need not start at the first call", at(0, 2500, 2600, 2700, 5400), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mostWithin(tt.times, 3*time.Second); got != tt.want {
				t.Errorf("mostWithin = %d, want %d", got, tt.want)
			}
		})
	}
}
