package drain_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/faults"
)

// Each throttled attempt of a call the SDK retries is counted, by service;
// other errors are not. Take starts the count again.
func TestThrottledAttemptsAreCountedByService(t *testing.T) {
	inj := faults.New(faults.Config{Throttle: 1, Only: func(service, op string) bool { return op == "ListClusters" }})
	a, err := localaws.Start(localaws.Options{Faults: inj})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	cfg, err := a.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	throttles := &drain.Throttles{}
	cfg = throttles.Count(cfg)
	cfg.RetryMaxAttempts = 3
	if _, err := ecs.NewFromConfig(cfg).ListClusters(context.Background(), &ecs.ListClustersInput{}); err == nil {
		t.Fatal("ListClusters succeeded, want it throttled")
	}
	_, _ = sqs.NewFromConfig(cfg).GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("none")}) // not a throttle
	if diff := cmp.Diff(map[string]int{"ecs": 3}, throttles.Take()); diff != "" {
		t.Errorf("throttled (-want +got):\n%s", diff)
	}
	if got := throttles.Take(); len(got) != 0 {
		t.Errorf("after Take: %v, want nothing", got)
	}
}
