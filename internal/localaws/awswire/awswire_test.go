package awswire

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestThrottleRefillsAtRate(t *testing.T) {
	var th Throttle
	th.Set("ListTasks", Bucket{Burst: 2, Rate: 1})
	now := time.Unix(1_700_000_000, 0)
	steps := []struct {
		name string
		at   time.Duration
		want bool
	}{
		{"first call takes a token", 0, true},
		{"second call empties the burst", 0, true},
		{"third call in the same instant is throttled", 0, false},
		{"half a second refills half a token: still throttled", 500 * time.Millisecond, false},
		{"one second in total refills one token", time.Second, true},
	}
	for _, s := range steps {
		if got := th.Allow("ListTasks", now.Add(s.at)); got != s.want {
			t.Fatalf("%s: Allow = %v, want %v", s.name, got, s.want)
		}
	}
	if !th.Allow("DescribeTasks", now) {
		t.Fatal("an operation with no bucket must never be throttled")
	}
}

func TestQueryResultAlwaysHasResultElement(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteQueryResult(rec, "http://autoscaling.amazonaws.com/doc/2011-01-01/", "CompleteLifecycleAction", nil)
	if body := rec.Body.String(); !strings.Contains(body, "<CompleteLifecycleActionResult/>") {
		t.Fatalf("body %q lacks the empty result element the SDK requires", body)
	}
}

func TestJSONErrorCarriesQueryErrorHeader(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSONError(rec, "1.0", &Error{Status: 400, Code: "QueueDoesNotExist", Message: "The specified queue does not exist.", QueryCode: "AWS.SimpleQueueService.NonExistentQueue", Sender: true}, "com.amazonaws.sqs")
	if got, want := rec.Header().Get("x-amzn-query-error"), "AWS.SimpleQueueService.NonExistentQueue;Sender"; got != want {
		t.Fatalf("x-amzn-query-error = %q, want %q", got, want)
	}
	if got, want := rec.Body.String(), `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`; got != want {
		t.Fatalf("body = %s, want %s", got, want)
	}
}
