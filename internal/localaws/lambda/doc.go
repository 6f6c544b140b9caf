// Package lambda is the local AWS Lambda: it runs the real bootstrap binary
// of a provided.al2023 function as a child process behind the Lambda Runtime
// API, and feeds it from the local SQS through an event source mapping.
//
// What it models (see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html,
// https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html and
// https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html):
//   - Execution environments: one child process each, started lazily (a cold
//     start) with the environment Lambda gives a provided runtime, reused while
//     it lives, and replaced after it exits (a panic, os.Exit) or is killed at
//     the function timeout. At most Concurrency of them exist at once.
//   - The Runtime API: GET .../invocation/next blocks until an invocation,
//     with the request id, deadline, function ARN and trace headers; POST
//     .../{id}/response and .../{id}/error answer 202 (chunked bodies with
//     trailers included); /runtime/init/error is recorded; an unknown id gets
//     the Runtime Interface Emulator's 400 InvalidRequestID.
//   - Invocation outcomes as Invoke reports them: the response payload, a
//     function error (the runtime's errorType, Sandbox.Timedout at the
//     timeout, Runtime.ExitError when the process exits), billed duration in
//     1 ms steps, the last 4 KB of the function's log (LogType Tail).
//   - Recursive loop detection: the trace header's Lineage field counts the
//     invocations of this function in a chain; with RecursiveLoop Terminate
//     (the default) the 17th is not run and Invoke fails with
//     ErrRecursiveInvocation, which an SQS event source treats as a failed
//     batch, so the message returns to the queue until its redrive policy
//     moves it to the dead-letter queue.
//   - The SQS event source mapping: long-polled batches, an optional batching
//     window, the documented event shape, partial batch responses and the
//     documented delete rules; failed messages are left to the queue's
//     visibility timeout and redrive policy.
//
// What it simplifies: there is no Invoke API over HTTP, no asynchronous invoke
// queue, retries or destinations; no scaling algorithm (a mapping runs a fixed
// number of pollers, and an invocation beyond Concurrency waits for a free
// environment instead of being throttled); no memory limit, SnapStart,
// extensions or response streaming; the init phase is bounded by a fixed
// 10 s and otherwise not billed or reported apart; the Lineage hash is ours
// (AWS does not document its input); the function sees the wall clock, never
// the local AWS's injected clock, because the child process reads the real
// time.
package lambda
