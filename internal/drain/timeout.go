package drain

import (
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
)

// callTimeout bounds one AWS call, SDK retries included, so a hung
// connection cannot eat the whole invocation: the record then fails and is
// redelivered instead of timing out the batch.
const callTimeout = 10 * time.Second

// BoundCalls returns cfg whose clients bound every call by callTimeout: one
// middleware, ahead of the SDK's retries, instead of a timeout at each call
// site (a paginator's pages are calls of their own).
func BoundCalls(cfg aws.Config) aws.Config {
	cfg = cfg.Copy()
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), boundCall(callTimeout))
	return cfg
}

// boundCall is the middleware that bounds one call, retries included, by d.
func boundCall(d time.Duration) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("ecs-drainer/CallTimeout",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				ctx, cancel := context.WithTimeout(ctx, d)
				defer cancel()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}
