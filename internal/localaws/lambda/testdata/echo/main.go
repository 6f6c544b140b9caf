// Command echo is a test-only Lambda function for the local Lambda's tests:
// it reports what the Runtime API gave it and, on command, sleeps, fails,
// panics, exits or re-queues itself through SQS.
//
// Direct payloads are one command object:
//
//	{"echo": any}          return the value with the invocation's metadata
//	{"sleep": "5s"}        sleep, ignoring the deadline, then return
//	{"error": "msg"}       return an error
//	{"panic": "msg"}       panic
//	{"exit": 3}            os.Exit(3)
//	{"print": "line"}      print a line, then return
//
// An SQS event re-queues every record whose body is "requeue:N" with N > 0 as
// "requeue:N-1" to ECHO_QUEUE_URL, and reports records whose body is "fail" in
// batchItemFailures.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

type command struct {
	Echo  json.RawMessage `json:"echo"`
	Sleep string          `json:"sleep"`
	Error string          `json:"error"`
	Panic string          `json:"panic"`
	Exit  *int            `json:"exit"`
	Print string          `json:"print"`
}

type reply struct {
	Echo        json.RawMessage   `json:"echo,omitempty"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	DeadlineMs  int64             `json:"deadlineMs"`
	TraceID     string            `json:"traceId"`
	Pid         int               `json:"pid"`
	Env         map[string]string `json:"env"`
}

func main() {
	lambda.Start(handle)
}

func handle(ctx context.Context, payload json.RawMessage) (any, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err == nil && len(ev.Records) > 0 {
		return handleSQS(ctx, ev)
	}
	var c command
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	switch {
	case c.Sleep != "":
		d, err := time.ParseDuration(c.Sleep)
		if err != nil {
			return nil, err
		}
		time.Sleep(d)
	case c.Error != "":
		return nil, errors.New(c.Error)
	case c.Panic != "":
		panic(c.Panic)
	case c.Exit != nil:
		os.Exit(*c.Exit)
	case c.Print != "":
		fmt.Println(c.Print)
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	env := map[string]string{}
	for _, k := range []string{"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
		"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_RUNTIME_API", "AWS_REGION", "TZ", "LAMBDA_TASK_ROOT", "ECHO_EXTRA", "HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	return reply{Echo: c.Echo, RequestID: lc.AwsRequestID, FunctionARN: lc.InvokedFunctionArn,
		DeadlineMs: deadline.UnixMilli(), TraceID: os.Getenv("_X_AMZN_TRACE_ID"), Pid: os.Getpid(), Env: env}, nil
}

func handleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		switch n, ok := strings.CutPrefix(r.Body, "requeue:"); {
		case r.Body == "fail":
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		case ok:
			left, err := strconv.Atoi(n)
			if err != nil {
				return resp, err
			}
			if left > 0 {
				if err := send(ctx, fmt.Sprintf("requeue:%d", left-1)); err != nil {
					return resp, err
				}
			}
		}
	}
	return resp, nil
}

// send uses the real SDK, whose recursion-detection middleware copies
// _X_AMZN_TRACE_ID into the X-Amzn-Trace-Id header.
func send(ctx context.Context, body string) error {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	_, err = sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(os.Getenv("ECHO_QUEUE_URL")), MessageBody: aws.String(body)})
	return err
}
