package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
