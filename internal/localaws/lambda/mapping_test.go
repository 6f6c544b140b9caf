package lambda

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

// fakeFunction plays the function's part: it records each batch's bodies and
// answers with respond.
type fakeFunction struct {
	respond func(ev events.SQSEvent) (InvokeResult, error)

	mu      sync.Mutex
	batches [][]string
	traces  []string
}

func (f *fakeFunction) Invoke(_ context.Context, payload []byte, o InvokeOptions) (InvokeResult, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return InvokeResult{}, err
	}
	var bodies []string
	for _, r := range ev.Records {
		bodies = append(bodies, r.Body)
	}
	f.mu.Lock()
	f.batches = append(f.batches, bodies)
	f.traces = append(f.traces, o.TraceHeader)
	f.mu.Unlock()
	return f.respond(ev)
}

func (f *fakeFunction) recorded() ([][]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.batches), slices.Clone(f.traces)
}

func failBodies(bodies ...string) func(events.SQSEvent) (InvokeResult, error) {
	return func(ev events.SQSEvent) (InvokeResult, error) {
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			if slices.Contains(bodies, r.Body) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		b, _ := json.Marshal(resp)
		return InvokeResult{Payload: b}, nil
	}
}

// The mapping must batch as configured and delete exactly what the function's
// outcome allows, leaving the rest in flight for the visibility timeout.
func TestMappingBatchesAndDeletes(t *testing.T) {
	tests := []struct {
		name        string
		sent        []string
		cfg         MappingConfig
		respond     func(events.SQSEvent) (InvokeResult, error)
		wantBatches [][]string
		wantLeft    []string // bodies still on the queue
	}{
		{"batch size is honoured", []string{"a", "b", "c", "d", "e"}, MappingConfig{BatchSize: 2},
			failBodies(), [][]string{{"a", "b"}, {"c", "d"}, {"e"}}, nil},
		// The window is the longest Lambda allows: the batch is invoked
		// when full, however long its receives take.
		{"the batching window gathers past ten", slices.Repeat([]string{"x"}, 20), MappingConfig{BatchSize: 20, MaxBatchingWindow: 5 * time.Minute},
			failBodies(), [][]string{slices.Repeat([]string{"x"}, 20)}, nil},
		{"listed failures stay", []string{"ok", "bad"}, MappingConfig{ReportBatchItemFailures: true},
			failBodies("bad"), [][]string{{"ok", "bad"}}, []string{"bad"}},
		{"a list without ReportBatchItemFailures is ignored", []string{"ok", "bad"}, MappingConfig{},
			failBodies("bad"), [][]string{{"ok", "bad"}}, nil},
		{"a function error keeps the batch", []string{"ok", "bad"}, MappingConfig{ReportBatchItemFailures: true},
			func(events.SQSEvent) (InvokeResult, error) {
				return InvokeResult{FunctionError: &FunctionError{Type: "errorString", Message: "boom"}}, nil
			}, [][]string{{"ok", "bad"}}, []string{"ok", "bad"}},
		{"a stopped recursive invocation keeps the batch", []string{"loop"}, MappingConfig{},
			func(events.SQSEvent) (InvokeResult, error) { return InvokeResult{}, ErrRecursiveInvocation },
			[][]string{{"loop"}}, []string{"loop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := startQueues(t, "30", 5)
			for _, b := range tt.sent {
				if _, err := q.srv.Send(q.url, b, ""); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			fn := &fakeFunction{respond: tt.respond}
			cfg := tt.cfg
			cfg.Queue, cfg.QueueURL, cfg.Function, cfg.MaxConcurrency = q.srv, q.url, fn, 1
			m := startMapping(t, cfg)
			waitFor(t, "every message to be received", func() bool { return m.Stats().Records == len(tt.sent) })
			m.Stop()

			batches, _ := fn.recorded()
			if diff := cmp.Diff(tt.wantBatches, batches); diff != "" {
				t.Errorf("batches (-want +got):\n%s", diff)
			}
			msgs, _ := q.srv.Messages(q.url)
			var left []string
			for _, msg := range msgs {
				left = append(left, msg.Body)
			}
			if diff := cmp.Diff(tt.wantLeft, left); diff != "" {
				t.Errorf("messages left on the queue (-want +got):\n%s", diff)
			}
			st := m.Stats()
			if st.Deleted != len(tt.sent)-len(tt.wantLeft) || st.Failed != len(tt.wantLeft) || st.Batches != len(tt.wantBatches) {
				t.Errorf("stats got %+v, want %d batches, %d deleted, %d failed", st, len(tt.wantBatches), len(tt.sent)-len(tt.wantLeft), len(tt.wantLeft))
			}
		})
	}
}

// The message's AWSTraceHeader must reach the invocation, otherwise Lambda's
// recursion detection never sees the chain.
func TestMappingPassesTraceHeader(t *testing.T) {
	q := startQueues(t, "30", 5)
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=abcd1234:3"
	if _, err := q.srv.Send(q.url, "traced", trace); err != nil {
		t.Fatalf("Send: %v", err)
	}
	fn := &fakeFunction{respond: failBodies()}
	m := startMapping(t, MappingConfig{Queue: q.srv, QueueURL: q.url, Function: fn})
	waitFor(t, "the batch", func() bool { return m.Stats().Batches == 1 })
	if _, traces := fn.recorded(); !slices.Equal(traces, []string{trace}) {
		t.Errorf("trace headers invoked with got %q, want [%q]", traces, trace)
	}
}

// StartMapping must refuse what CreateEventSourceMapping refuses.
func TestStartMappingValidates(t *testing.T) {
	q := startQueues(t, "30", 5)
	fn := &fakeFunction{respond: failBodies()}
	tests := []struct {
		name string
		cfg  MappingConfig
	}{
		{"unknown queue", MappingConfig{Queue: q.srv, QueueURL: q.url + "-missing", Function: fn}},
		{"no function", MappingConfig{Queue: q.srv, QueueURL: q.url}},
		{"batch over ten without a window", MappingConfig{Queue: q.srv, QueueURL: q.url, Function: fn, BatchSize: 11}},
		{"batch over the maximum", MappingConfig{Queue: q.srv, QueueURL: q.url, Function: fn, BatchSize: 10001, MaxBatchingWindow: time.Second}},
		{"window over 300s", MappingConfig{Queue: q.srv, QueueURL: q.url, Function: fn, MaxBatchingWindow: 301 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := StartMapping(tt.cfg); err == nil {
				m.Stop()
				t.Errorf("StartMapping(%s): got no error, want one", tt.name)
			}
		})
	}
}

// With the real drainer: a record it cannot parse is reported in
// batchItemFailures, stays on the queue and reaches the DLQ after
// maxReceiveCount receives, while a record it ignores is deleted. Without
// ReportBatchItemFailures the same response deletes both, which is why the
// stack must turn it on.
func TestMappingWithRealDrainer(t *testing.T) {
	testNotification, err := os.ReadFile(filepath.Join("..", "..", "lifecycle", "testdata", "test-notification.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		report    bool
		wantInDLQ []string
	}{
		{"reported failures are redriven to the DLQ", true, []string{"not a lifecycle event"}},
		{"without ReportBatchItemFailures every record is deleted", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := startQueues(t, "0", 2)
			// Over 10 s: with less left the drainer sends records back
			// instead of starting them (handler.minBudget).
			f, err := NewFunction(FunctionConfig{Name: "drainer", Binary: drainerBin.build(t), Timeout: 30 * time.Second,
				Env: append(q.env(), "DRAINER_QUEUE_URL="+q.url)})
			if err != nil {
				t.Fatalf("NewFunction: %v", err)
			}
			t.Cleanup(func() { _ = f.Close() })
			m := startMapping(t, MappingConfig{Queue: q.srv, QueueURL: q.url, Function: f, MaxConcurrency: 1, ReportBatchItemFailures: tt.report})
			for _, body := range []string{string(testNotification), "not a lifecycle event"} {
				if _, err := q.srv.Send(q.url, body, ""); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			waitFor(t, "the source queue to empty", func() bool {
				v, inFlight, _ := q.srv.Counts(q.url)
				return v+inFlight == 0 && m.Stats().Records >= 2
			})
			m.Stop()
			msgs, _ := q.srv.Messages(q.dlq)
			var inDLQ []string
			for _, msg := range msgs {
				inDLQ = append(inDLQ, msg.Body)
			}
			if diff := cmp.Diff(tt.wantInDLQ, inDLQ); diff != "" {
				t.Errorf("DLQ (-want +got):\n%s", diff)
			}
			if st := f.Stats(); st.Errors != 0 || st.ColdStarts != 1 {
				t.Errorf("function stats got %+v, want no function errors and one cold start", st)
			}
		})
	}
}
