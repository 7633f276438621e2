package modelgate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
)

// Error is the error of a failed call. Every error the client returns for a call
// is an *Error (test with errors.As, or use CodeOf). Errors that the client
// detects itself (connection failures, local deadlines, cancellation) are
// *Errors as well; they wrap their cause, so errors.Is(err, context.Canceled)
// and errors.Is(err, context.DeadlineExceeded) hold when the context ended the call.
type Error struct {
	// Code is the status code; never OK.
	Code Code
	// Message describes the failure.
	Message string
	// Details is the typed detail of the failure: the gateway's ErrorDetail for
	// errors it reported, or one filled in by the client for errors it detected.
	// It is never nil.
	Details *modelgatev1.ErrorDetail
	// Trailers is the trailing metadata of the END frame, if any.
	Trailers map[string]string
	// Local is true when the client detected the failure itself rather than
	// receiving it from the gateway.
	Local bool

	cause error
}

// Error formats the code, message and the most useful details.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("modelgate: ")
	b.WriteString(e.Code.String())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	d := e.Details
	var extra []string
	if k := d.GetKind(); k != modelgatev1.ErrorKind_ERROR_KIND_UNSPECIFIED {
		extra = append(extra, "kind="+strings.TrimPrefix(k.String(), "ERROR_KIND_"))
	}
	if p := d.GetProvider(); p != "" {
		extra = append(extra, "provider="+p)
	}
	if s := d.GetUpstreamStatus(); s != 0 {
		extra = append(extra, fmt.Sprintf("upstream_status=%d", s))
	}
	if c := d.GetUpstreamCode(); c != "" {
		extra = append(extra, "upstream_code="+c)
	}
	if d.GetRetryable() {
		extra = append(extra, "retryable")
	}
	if ms := d.GetRetryAfterMs(); ms != 0 {
		extra = append(extra, "retry_after="+(time.Duration(ms)*time.Millisecond).String())
	}
	if id := d.GetRequestId(); id != "" {
		extra = append(extra, "request_id="+id)
	}
	if len(extra) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(extra, ", "))
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the underlying cause of a locally detected error (for example
// context.Canceled or a network error), or nil.
func (e *Error) Unwrap() error { return e.cause }

// Kind returns what went wrong, finer than the code.
func (e *Error) Kind() modelgatev1.ErrorKind { return e.Details.GetKind() }

// Retryable reports whether sending the same request again may succeed
// (possibly after RetryAfter).
func (e *Error) Retryable() bool { return e.Details.GetRetryable() }

// RetryAfter is how long to wait before retrying; 0 when unknown.
func (e *Error) RetryAfter() time.Duration {
	return time.Duration(e.Details.GetRetryAfterMs()) * time.Millisecond
}

// RequestID is the gateway's id for the call, when it reported one.
func (e *Error) RequestID() string { return e.Details.GetRequestId() }

// CodeOf returns the status code of err: OK for nil, the Code of an *Error in
// err's chain, Canceled or DeadlineExceeded for context errors, and Unknown
// otherwise.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	}
	return Unknown
}

// IsRetryable reports whether err is an *Error whose details say the same
// request may succeed if sent again.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable()
}

// newLocalError builds an error the client detected itself.
func newLocalError(code Code, kind modelgatev1.ErrorKind, retryable bool, cause error, format string, args ...interface{}) *Error {
	return &Error{
		Code:    code,
		Message: fmt.Sprintf(format, args...),
		Details: &modelgatev1.ErrorDetail{Kind: kind, Retryable: retryable},
		Local:   true,
		cause:   cause,
	}
}

// errorFromEnd converts a non-OK END status into an *Error.
func errorFromEnd(st *modelgatev1.EndStatus) *Error {
	d := st.GetError()
	if d == nil {
		d = &modelgatev1.ErrorDetail{}
	}
	return &Error{
		Code:     Code(st.GetCode()),
		Message:  st.GetMessage(),
		Details:  d,
		Trailers: st.GetTrailers(),
	}
}

// contextError converts a context's error into a local *Error.
func contextError(err error) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return newLocalError(DeadlineExceeded, modelgatev1.ErrorKind_ERROR_KIND_DEADLINE_EXCEEDED, false, err, "deadline exceeded")
	}
	return newLocalError(Canceled, modelgatev1.ErrorKind_ERROR_KIND_CANCELLED, false, err, "call cancelled: %v", err)
}
