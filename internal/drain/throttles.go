package drain

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
)

// Throttles counts the answers AWS throttled, by service, each attempt of a
// retried call apart: the SDK retries them out of sight, and how often an
// account's API limits bite is worth a metric.
type Throttles struct {
	mu sync.Mutex
	n  map[string]int
}

// Count returns cfg whose clients count their throttled attempts in t.
func (t *Throttles) Count(cfg aws.Config) aws.Config {
	cfg = cfg.Copy()
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), func(s *middleware.Stack) error {
		// After the retry middleware: once per attempt.
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("ecs-drainer/CountThrottles",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				if err != nil && retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
					t.add(awsmiddleware.GetServiceID(ctx))
				}
				return out, md, err
			}), middleware.After)
	})
	return cfg
}

func (t *Throttles) add(serviceID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	// The SDK's service ids ("ECS", "Auto Scaling", "SQS") as dimension
	// values: "ecs", "autoscaling", "sqs".
	t.n[strings.ToLower(strings.ReplaceAll(serviceID, " ", ""))]++
}

// Take returns the counts since the last Take and starts again.
func (t *Throttles) Take() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := maps.Clone(t.n)
	clear(t.n)
	return n
}
