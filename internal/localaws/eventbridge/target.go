package eventbridge

import "context"

// SQSTarget delivers each event as the body of a message sent to the queue at
// url, as an SQS target of a rule does without an input transformer. send is
// the local SQS's Send; an error from it (an unknown queue, an oversized
// body) makes the bus retry.
func SQSTarget(send func(url, body, trace string) (messageID string, err error), url string) Target {
	return func(_ context.Context, event []byte) error {
		// No X-Ray trace header: the emulated services do not trace.
		_, err := send(url, string(event), "")
		return err
	}
}
