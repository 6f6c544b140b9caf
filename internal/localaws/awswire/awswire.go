// Package awswire holds what the emulated services share about AWS wire
// protocols: request ids, the error value their operations return, the JSON
// (awsJson1_0/1_1) and Query (XML) renderings of results and errors, and a
// token-bucket throttle. Each service package owns its own operations; this
// package only knows how AWS puts bytes on the wire.
package awswire

import (
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
)

// Error is an AWS API error as an operation returns it, before a protocol
// renders it.
type Error struct {
	Status  int    // HTTP status
	Code    string // error code: the JSON __type suffix or the Query <Code>
	Message string
	// QueryCode, for query-compatible JSON services (SQS), is sent as the
	// x-amzn-query-error header; the SDK then reports it as ErrorCode().
	QueryCode string
	// Sender is true for client faults; it selects Sender/Receiver in Query
	// errors and in x-amzn-query-error.
	Sender bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ClientError returns a 400 Sender error.
func ClientError(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...), Sender: true}
}

// NewRequestID returns a random UUID v4 string, the shape of AWS request ids.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// WriteJSON writes a 200 JSON response with the content type of the given
// awsJson version ("1.0" or "1.1") and an x-amzn-RequestId header, which the
// SDK copies into its error strings and logs.
func WriteJSON(w http.ResponseWriter, version string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		WriteJSONError(w, version, &Error{Status: 500, Code: "InternalFailure", Message: err.Error()}, "")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-"+version)
	w.Header().Set("x-amzn-RequestId", NewRequestID())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// WriteJSONError writes e as awsJson does: {"__type": namespace#Code,
// "message": ...}. namespace may be empty (ECS sends bare names).
func WriteJSONError(w http.ResponseWriter, version string, e *Error, namespace string) {
	typ := e.Code
	if namespace != "" {
		typ = namespace + "#" + e.Code
	}
	body, _ := json.Marshal(map[string]string{"__type": typ, "message": e.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-"+version)
	w.Header().Set("x-amzn-RequestId", NewRequestID())
	if e.QueryCode != "" {
		w.Header().Set("x-amzn-query-error", e.QueryCode+";"+fault(e))
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

func fault(e *Error) string {
	if e.Sender {
		return "Sender"
	}
	return "Receiver"
}

// WriteQueryResult writes an awsQuery success response:
// <ActionResponse xmlns=...><ActionResult>inner</ActionResult><ResponseMetadata>...
// The Result element is always present, even when empty, because the SDK
// fails with "<Action>Result node not found" without it. The request id is
// also sent as x-amzn-RequestId, as AWS does: the SDK takes a successful
// call's ResultMetadata request id from that header only.
func WriteQueryResult(w http.ResponseWriter, xmlns, action string, inner []byte) {
	id := NewRequestID()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `<%sResponse xmlns="%s">`, action, xmlns)
	if len(inner) == 0 {
		fmt.Fprintf(w, "<%sResult/>", action)
	} else {
		fmt.Fprintf(w, "<%sResult>%s</%sResult>", action, inner, action)
	}
	fmt.Fprintf(w, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", id, action)
}

// WriteQueryError writes an awsQuery error response, its request id both in
// the body and as x-amzn-RequestId.
func WriteQueryError(w http.ResponseWriter, xmlns string, e *Error) {
	id := NewRequestID()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(e.Status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		xmlns, fault(e), escape(e.Code), escape(e.Message), id)
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
