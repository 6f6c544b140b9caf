package lambda

import (
	"encoding/json"
	"strings"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/sqs"
)

// sqsEvent is the event an SQS event source mapping sends
// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):
// lower-camel keys, unlike the SQS API. It decodes into aws-lambda-go's
// events.SQSEvent.
type sqsEvent struct {
	Records []sqsRecord `json:"Records"`
}

type sqsRecord struct {
	MessageID     string `json:"messageId"`
	ReceiptHandle string `json:"receiptHandle"`
	Body          string `json:"body"`
	// Attributes are the system attributes: ApproximateReceiveCount,
	// SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp, and
	// AWSTraceHeader when the sender was traced.
	Attributes             map[string]string              `json:"attributes"`
	MessageAttributes      map[string]sqsRecordAttributes `json:"messageAttributes"`
	MD5OfMessageAttributes string                         `json:"md5OfMessageAttributes,omitempty"`
	MD5OfBody              string                         `json:"md5OfBody"`
	EventSource            string                         `json:"eventSource"`
	EventSourceARN         string                         `json:"eventSourceARN"`
	AWSRegion              string                         `json:"awsRegion"`
}

type sqsRecordAttributes struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      []byte   `json:"binaryValue,omitempty"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues [][]byte `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// sqsEventPayload renders received messages as the event of one invocation.
func sqsEventPayload(msgs []sqs.Message, queueARN, region string) []byte {
	ev := sqsEvent{Records: make([]sqsRecord, len(msgs))}
	for i, m := range msgs {
		r := sqsRecord{
			MessageID:              m.MessageID,
			ReceiptHandle:          m.ReceiptHandle,
			Body:                   m.Body,
			Attributes:             map[string]string{},
			MessageAttributes:      map[string]sqsRecordAttributes{},
			MD5OfMessageAttributes: m.MD5OfMessageAttributes,
			MD5OfBody:              m.MD5OfBody,
			EventSource:            "aws:sqs",
			EventSourceARN:         queueARN,
			AWSRegion:              region,
		}
		for k, v := range m.Attributes {
			r.Attributes[k] = v
		}
		for k, a := range m.MessageAttributes {
			ra := sqsRecordAttributes{StringListValues: []string{}, BinaryListValues: [][]byte{}, DataType: a.DataType}
			// Custom types extend a base type: "Number.float", "Binary.gif".
			if strings.HasPrefix(a.DataType, "Binary") {
				ra.BinaryValue = a.BinaryValue
			} else {
				ra.StringValue = &a.StringValue
			}
			r.MessageAttributes[k] = ra
		}
		ev.Records[i] = r
	}
	b, _ := json.Marshal(ev) // plain structs of strings, maps and byte slices always marshal
	return b
}
