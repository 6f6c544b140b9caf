// Command drainer is the ecs-drainer Lambda function (the bootstrap binary of
// a provided.al2023 runtime). It is only the composition root: it reads the
// configuration, builds the AWS clients and starts the Lambda loop. AWS
// endpoints and credentials come the standard SDK way, so AWS_ENDPOINT_URL
// and AWS_ENDPOINT_URL_{ECS,AUTO_SCALING,SQS} point it at an emulator.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/handler"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", "error", err.Error())
		os.Exit(1)
	}
	// Adaptive retries back off on throttling across calls, not only per
	// call, which matters when an instance refresh drains many instances
	// at once against ECS's shared token buckets.
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(),
		awsconfig.WithRetryer(func() aws.Retryer { return retry.NewAdaptiveMode() }))
	if err != nil {
		log.Error("loading AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	d := drain.New(awsCfg, cfg.queueURL, cfg.policy)
	lambda.Start(handler.New(d, cfg.handler, log, time.Now).Invoke)
}
