// Command ecs-drainer is the operator's view of the drainer: what is
// draining and why, and the hand-brake (release, drain). It reads the AWS
// state the function reads, with the standard AWS configuration (profile,
// region, AWS_ENDPOINT_URL*), through the same internal/drain code. See
// docs/operator.md; package operator does the work.
//
//	go install github.com/ecs-drainer/ecs-drainer/cmd/ecs-drainer@latest
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecs-drainer/ecs-drainer/cmd/ecs-drainer/operator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := operator.Run(ctx, os.Args[1:], operator.Stdio(), operator.Options{})
	stop()
	os.Exit(code)
}
