// Command drainer is the ecs-drainer Lambda function (the bootstrap binary of
// a provided.al2023 runtime). It is only the composition root: it reads the
// configuration, builds the AWS clients and starts the Lambda loop. AWS
// endpoints and credentials come the standard SDK way, so AWS_ENDPOINT_URL
// and AWS_ENDPOINT_URL_{ECS,AUTO_SCALING,SQS,EVENTBRIDGE} point it at an emulator.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/smithy-go/logging"

	"github.com/ecs-drainer/ecs-drainer/internal/announce"
	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/handler"
)

// maxAttempts is how many times a throttled or failed AWS call is made
// before its record fails (the SDK's default is 3).
const maxAttempts = 8

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	// What writes through the standard logger (the Lambda runtime's report
	// of a handler error) becomes a JSON line too.
	slog.SetDefault(log)
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	// Throttling is retried with jittered backoff, up to maxAttempts (each
	// call bounded by its own timeout), so that an instance refresh's burst
	// against ECS's token buckets does not fail records. Not the adaptive
	// mode: its client-side rate limiter, once throttled, holds back every
	// call of the process, and the concurrent hops of a batch then wait on
	// each other.
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = maxAttempts })
		}))
	if err != nil {
		log.Error("loading AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	// The SDK's own warnings (a response body it could not read to the
	// end, say) go to the same JSON log: every line the function writes
	// is JSON, for Logs Insights and the metrics extraction alike.
	awsCfg.Logger = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelInfo
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, fmt.Sprintf(format, v...), "source", "aws-sdk", "cluster", "", "asg", "", "hook", "", "instance_id", "")
	})
	throttles := &drain.Throttles{}
	awsCfg = throttles.Count(awsCfg)
	d := drain.New(awsCfg, cfg.queueURL, cfg.policy)
	ann := announce.New(eventbridge.NewFromConfig(drain.BoundCalls(awsCfg)), time.Now)
	lambda.Start(handler.New(d, cfg.handler, log, time.Now, handler.Observers{Announcer: ann, Throttles: throttles}).Invoke)
}
