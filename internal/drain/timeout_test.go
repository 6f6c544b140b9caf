package drain

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go/middleware"
)

// A call to an endpoint that never answers must end with the call's own
// deadline, not hang the invocation: the middleware BoundCalls adds bounds
// every call of every client made from the config.
func TestBoundCallsEndsACallThatNeverAnswers(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		case <-time.After(5 * time.Second): // without a bound: an answer, and no deadline error
			_, _ = w.Write([]byte("{}"))
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: Close waits for handlers
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}

	var installed bool
	bounded := BoundCalls(cfg)
	bounded.APIOptions = append(bounded.APIOptions, func(s *middleware.Stack) error {
		_, installed = s.Initialize.Get("ecs-drainer/CallTimeout")
		return nil
	})
	client := ecs.NewFromConfig(bounded, func(o *ecs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	done, cancel := context.WithCancel(context.Background())
	cancel() // the stack is built all the same; no need to wait for an answer
	_, _ = client.ListClusters(done, &ecs.ListClustersInput{})
	if !installed {
		t.Fatal("BoundCalls did not install the call timeout")
	}
	if len(cfg.APIOptions) != 0 {
		t.Errorf("BoundCalls changed the config it was given: %d API options", len(cfg.APIOptions))
	}

	short := cfg.Copy()
	short.APIOptions = []func(*middleware.Stack) error{boundCall(50 * time.Millisecond)}
	client = ecs.NewFromConfig(short, func(o *ecs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	_, err := client.ListClusters(context.Background(), &ecs.ListClustersInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ListClusters to an endpoint that never answers: %v, want the call's deadline exceeded", err)
	}
}
