package lambda

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/sqs"
)

// The Lineage counter is the only memory a chain has across SQS hops: each
// invocation must raise this function's counter by one and keep the trace
// root and other functions' counters, otherwise loops are never caught, or
// caught early.
func TestInvocationTrace(t *testing.T) {
	const h = "abcd1234"
	tests := []struct {
		name        string
		incoming    string
		wantHop     int
		wantRoot    string // empty: a new one
		wantLineage string
	}{
		{"no header starts a chain", "", 0, "", h + ":0"},
		{"a root without lineage is the first hop", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
			0, "1-5759e988-bd862e3fe1be46a994272793", h + ":0"},
		{"our counter goes up", "Root=1-a-b;Sampled=0;Lineage=" + h + ":3", 4, "1-a-b", h + ":4"},
		{"other functions' counters are kept", "Root=1-a-b;Lineage=ffff0000:7|" + h + ":0", 1, "1-a-b", "ffff0000:7|" + h + ":1"},
		{"the versioned form seen since 2025 is read", "Root=1-a-b;Lineage=1:" + h + ":14", 15, "1-a-b", h + ":15"},
		{"the SDK's percent-encoding is undone", "Root=1-a-b;Lineage=ffff0000:2%7C" + h + ":5", 6, "1-a-b", "ffff0000:2|" + h + ":6"},
		{"an unreadable entry is dropped", "Root=1-a-b;Lineage=garbage|" + h + ":x", 0, "1-a-b", h + ":0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, hop := invocationTrace(tt.incoming, h, time.Unix(1700000000, 0))
			tr := parseTrace(got)
			if hop != tt.wantHop {
				t.Errorf("invocationTrace(%q) hop got %d, want %d", tt.incoming, hop, tt.wantHop)
			}
			if g := tr.values["Lineage"]; g != tt.wantLineage {
				t.Errorf("invocationTrace(%q) Lineage got %q, want %q", tt.incoming, g, tt.wantLineage)
			}
			root := tr.values["Root"]
			if tt.wantRoot != "" && root != tt.wantRoot {
				t.Errorf("invocationTrace(%q) Root got %q, want %q", tt.incoming, root, tt.wantRoot)
			}
			if tt.wantRoot == "" && !strings.HasPrefix(root, "1-6553f100-") {
				t.Errorf("invocationTrace(%q) Root got %q, want a new 1-<epoch hex>-<random> root", tt.incoming, root)
			}
			if len(tr.values["Parent"]) != 16 {
				t.Errorf("invocationTrace(%q) Parent got %q, want a new 16-hex segment id", tt.incoming, tr.values["Parent"])
			}
		})
	}
}

// With Terminate the 17th invocation of a chain must not run, and with Allow
// it must: the drainer's re-queue chain is exactly such a chain.
func TestRecursionStopAtSeventeenthInvocation(t *testing.T) {
	tests := []struct {
		name      string
		loop      string
		priorHops int // Lineage counter the event carries: hops 0..priorHops already ran
		wantStop  bool
	}{
		{"terminate runs the 16th", RecursiveLoopTerminate, 14, false},
		{"terminate stops the 17th", RecursiveLoopTerminate, 15, true},
		{"the default is terminate", "", 15, true},
		{"allow runs the 17th", RecursiveLoopAllow, 15, false},
		{"allow runs the 100th", RecursiveLoopAllow, 98, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newEcho(t, FunctionConfig{RecursiveLoop: tt.loop})
			in := "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=" + f.hash + ":" + itoa(tt.priorHops)
			res, err := f.Invoke(context.Background(), []byte(`{}`), InvokeOptions{TraceHeader: in})
			st := f.Stats()
			if tt.wantStop {
				if !errors.Is(err, ErrRecursiveInvocation) {
					t.Fatalf("Invoke after %d hops: got %v, want ErrRecursiveInvocation", tt.priorHops+1, err)
				}
				if st.RecursionStops != 1 || st.Invocations != 0 || st.ColdStarts != 0 {
					t.Errorf("stats got %+v, want one recursion stop and no process started", st)
				}
				return
			}
			if err != nil || res.FunctionError != nil {
				t.Fatalf("Invoke after %d hops: got %v %v, want it to run", tt.priorHops+1, err, res.FunctionError)
			}
			if got, want := decodeReply(t, res).TraceID, "Lineage="+f.hash+":"+itoa(tt.priorHops+1); !strings.Contains(got, want) {
				t.Errorf("trace the function saw got %q, want %s", got, want)
			}
		})
	}
}

// End to end through the real SDK: the function re-queues itself with
// SendMessage, the SDK copies _X_AMZN_TRACE_ID into X-Amzn-Trace-Id, SQS
// keeps it as AWSTraceHeader and the mapping passes it back. With Terminate
// the chain must stop after 16 invocations and the message must end in the
// DLQ through the queue's redrive policy, as on AWS; with Allow it must run
// to its own end.
func TestRecursiveLoopThroughSQS(t *testing.T) {
	tests := []struct {
		name            string
		loop            string
		wantInvocations int
		wantInDLQ       string // body, or empty
	}{
		{"terminate stops the chain and redrives its message", RecursiveLoopTerminate, 16, "requeue:4"},
		{"allow lets the chain end by itself", RecursiveLoopAllow, 21, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := startQueues(t, "0", 2)
			f := newEcho(t, FunctionConfig{RecursiveLoop: tt.loop, Env: append(q.env(), "ECHO_QUEUE_URL="+q.url)})
			m := startMapping(t, MappingConfig{Queue: q.srv, QueueURL: q.url, Function: f, MaxConcurrency: 1, ReportBatchItemFailures: true})
			if _, err := q.srv.Send(q.url, "requeue:20", ""); err != nil {
				t.Fatalf("Send: %v", err)
			}
			waitFor(t, "the chain to settle", func() bool {
				v, inFlight, _ := q.srv.Counts(q.url)
				dlq, _, _ := q.srv.Counts(q.dlq)
				return v+inFlight == 0 && f.Stats().Invocations >= tt.wantInvocations && (tt.wantInDLQ == "") == (dlq == 0)
			})
			m.Stop()
			st := f.Stats()
			if st.Invocations != tt.wantInvocations {
				t.Errorf("invocations got %d, want %d", st.Invocations, tt.wantInvocations)
			}
			msgs, _ := q.srv.Messages(q.dlq)
			if tt.wantInDLQ == "" {
				if len(msgs) != 0 || st.RecursionStops != 0 {
					t.Errorf("got %d DLQ messages and %d recursion stops, want none", len(msgs), st.RecursionStops)
				}
				return
			}
			// Each receive of the stopped message is stopped again until
			// maxReceiveCount (2) moves it to the DLQ.
			if st.RecursionStops != 2 {
				t.Errorf("recursion stops got %d, want 2 (one per receive)", st.RecursionStops)
			}
			if len(msgs) != 1 || msgs[0].Body != tt.wantInDLQ {
				t.Fatalf("DLQ holds %+v, want one message %q", msgs, tt.wantInDLQ)
			}
			if got, want := msgs[0].Attributes["AWSTraceHeader"], "Lineage="+f.hash+":15"; !strings.Contains(got, want) {
				t.Errorf("AWSTraceHeader of the stopped message got %q, want %s (sent by the 16th invocation)", got, want)
			}
		})
	}
}

// queues is a local SQS served over HTTP, with a source queue whose redrive
// policy points at a DLQ.
type queues struct {
	srv      *sqs.Server
	endpoint string
	url, dlq string
}

func startQueues(t *testing.T, visibility string, maxReceiveCount int) queues {
	t.Helper()
	srv := sqs.New(clock.Real{}, sqs.Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	srv.SetEndpoint(hs.URL)
	dlq, err := srv.CreateQueue("dlq", nil)
	if err != nil {
		t.Fatalf("CreateQueue dlq: %v", err)
	}
	dlqARN, _ := srv.QueueARN(dlq)
	url, err := srv.CreateQueue("source", map[string]string{
		"VisibilityTimeout": visibility,
		"RedrivePolicy":     `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":` + itoa(maxReceiveCount) + `}`,
	})
	if err != nil {
		t.Fatalf("CreateQueue source: %v", err)
	}
	return queues{srv: srv, endpoint: hs.URL, url: url, dlq: dlq}
}

// env points a function's SDK at the queues.
func (q queues) env() []string {
	return []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDLOCAL", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_SQS=" + q.endpoint}
}

func startMapping(t *testing.T, cfg MappingConfig) *Mapping {
	t.Helper()
	m, err := StartMapping(cfg)
	if err != nil {
		t.Fatalf("StartMapping: %v", err)
	}
	t.Cleanup(m.Stop)
	return m
}

func itoa(n int) string { return strconv.Itoa(n) }
