package modelgate

import (
	"strconv"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
)

// Code is a call's status code. The values and meanings are gRPC's; they are
// the modelgatev1.StatusCode values the gateway sends in END frames.
type Code uint32

// Status codes.
const (
	// OK means success; an error never carries it.
	OK Code = 0
	// Canceled: the call was cancelled, usually by the caller.
	Canceled Code = 1
	// Unknown: an error with no better code.
	Unknown Code = 2
	// InvalidArgument: the request is malformed or names an unsupported feature.
	InvalidArgument Code = 3
	// DeadlineExceeded: the deadline expired before the call completed.
	DeadlineExceeded Code = 4
	// NotFound: the model (or another named entity) does not exist.
	NotFound Code = 5
	// AlreadyExists is unused by the gateway.
	AlreadyExists Code = 6
	// PermissionDenied: the caller, or the gateway's upstream credential, may not do this.
	PermissionDenied Code = 7
	// ResourceExhausted: a rate limit, quota, budget, stream limit or size limit was hit.
	ResourceExhausted Code = 8
	// FailedPrecondition: the system is not in a state to serve this; do not retry.
	FailedPrecondition Code = 9
	// Aborted: a conflict upstream; retry at a higher level.
	Aborted Code = 10
	// OutOfRange is unused by the gateway.
	OutOfRange Code = 11
	// Unimplemented: unknown method or unsupported feature.
	Unimplemented Code = 12
	// Internal: a bug, or an answer that could not be parsed.
	Internal Code = 13
	// Unavailable: transient; the gateway or upstream is unreachable, cut the
	// stream or is draining. Safe to retry when no output was consumed.
	Unavailable Code = 14
	// DataLoss is unused by the gateway.
	DataLoss Code = 15
	// Unauthenticated: the caller did not present valid credentials.
	Unauthenticated Code = 16
)

// String returns the code's canonical name, e.g. "RESOURCE_EXHAUSTED", as in
// gateway.proto and gRPC's documentation.
func (c Code) String() string {
	if name, ok := modelgatev1.StatusCode_name[int32(c)]; ok && c <= Unauthenticated {
		return name
	}
	return "CODE(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// ParseCode returns the code with the canonical name s (e.g. "NOT_FOUND").
func ParseCode(s string) (Code, bool) {
	v, ok := modelgatev1.StatusCode_value[s]
	if !ok {
		return 0, false
	}
	return Code(v), true
}
