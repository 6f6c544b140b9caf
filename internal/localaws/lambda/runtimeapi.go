package lambda

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// maxPayloadBytes is the synchronous response limit, 6 MB; the Runtime
// Interface Emulator allows 100 bytes over it (interop.MaxPayloadSize).
const maxPayloadBytes = 6*1024*1024 + 100

// Runtime API headers (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline    = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	// aws-lambda-go sends these as trailers of a chunked response when the
	// handler's io.Reader fails after the response has started.
	trailerErrorType = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody = "Lambda-Runtime-Function-Error-Body"
)

// runtimeAPI is the Runtime API one environment's process talks to.
func (e *environment) runtimeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", e.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) { e.answer(w, r, false) })
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) { e.answer(w, r, true) })
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", e.initError)
	return mux
}

// next blocks until the environment is given an invocation: the runtime
// sets no client timeout on this long poll.
func (e *environment) next(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-e.invocations:
		inv.start = e.fn.now()
		inv.deadline = inv.start.Add(e.fn.cfg.Timeout)
		e.mu.Lock()
		e.current = inv
		e.mu.Unlock()
		// Logged before the process has the event, so the START line
		// precedes anything the handler prints.
		e.logs.line(fmt.Sprintf(startPrefix+"%s Version: $LATEST", inv.id))
		close(inv.taken)
		h := w.Header()
		h.Set(headerRequestID, inv.id)
		h.Set(headerDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(headerFunctionARN, e.fn.arn)
		h.Set(headerTraceID, inv.trace)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload) // a process gone mid-write is seen by Invoke as an exit
	case <-r.Context().Done():
	}
}

// answer takes the outcome of the invocation in progress, from /response or
// /error.
func (e *environment) answer(w http.ResponseWriter, r *http.Request, isError bool) {
	e.mu.Lock()
	inv := e.current
	if inv == nil || inv.id != r.PathValue("id") {
		e.mu.Unlock()
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	e.current = nil
	e.mu.Unlock()

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayloadBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		inv.done <- outcome{err: &FunctionError{Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxPayloadBytes)}}
		writeRuntimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", maxPayloadBytes))
		return
	case err != nil:
		inv.done <- outcome{err: &FunctionError{Type: "Runtime.TruncatedResponse", Message: "HTTP request detected as truncated"}}
		writeRuntimeError(w, http.StatusBadRequest, "TruncatedHTTPRequest", "HTTP request detected as truncated")
		return
	case isError:
		inv.done <- outcome{payload: body, err: parseFunctionError(body, r.Header.Get(trailerErrorType))}
	case r.Trailer.Get(trailerErrorType) != "":
		inv.done <- streamError(r.Trailer)
	default:
		inv.done <- outcome{payload: body}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// initError records what the runtime reports before its first /next.
// aws-lambda-go never calls it (it exits instead), other runtimes do.
func (e *environment) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayloadBytes))
	fe := parseFunctionError(body, r.Header.Get(trailerErrorType))
	e.mu.Lock()
	e.initErr = fe
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// errorBody is the runtime's error document, which Lambda returns to the
// caller as the payload of a failed invocation.
type errorBody struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// parseFunctionError reads an error document. The type comes from the body,
// else from the Lambda-Runtime-Function-Error-Type header some runtimes use,
// else it is "Unhandled", the X-Amz-Function-Error of an untyped error.
func parseFunctionError(body []byte, headerType string) *FunctionError {
	var b errorBody
	_ = json.Unmarshal(body, &b) // a body that is not the document still fails the invocation
	fe := &FunctionError{Type: b.ErrorType, Message: b.ErrorMessage}
	if fe.Type == "" {
		fe.Type = headerType
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

func streamError(trailer http.Header) outcome {
	body, _ := base64.StdEncoding.DecodeString(trailer.Get(trailerErrorBody))
	return outcome{payload: body, err: parseFunctionError(body, trailer.Get(trailerErrorType))}
}

func writeRuntimeError(w http.ResponseWriter, status int, errorType, message string) {
	b, _ := json.Marshal(errorBody{ErrorMessage: message, ErrorType: errorType})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
