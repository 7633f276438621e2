package modelgate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
)

// asError requires err to be a *Error with the given code.
func asError(t *testing.T, err error, code Code) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *modelgate.Error", err, err)
	}
	if e.Code != code {
		t.Fatalf("error %v has code %v, want %v", err, e.Code, code)
	}
	if e.Details == nil {
		t.Fatalf("error %v has nil Details", err)
	}
	if CodeOf(err) != code {
		t.Fatalf("CodeOf(%v) = %v", err, CodeOf(err))
	}
	return e
}

// TestMockErrorEveryCode injects every non-OK status with the mock's
// mock-error metadata, in unary and streamed calls.
func TestMockErrorEveryCode(t *testing.T) {
	cl := dialShared(t)
	for code := Canceled; code <= Unauthenticated; code++ {
		code := code
		t.Run(code.String(), func(t *testing.T) {
			id := "err-" + strings.ToLower(code.String())
			_, err := cl.Chat(context.Background(), userRequest("mock", "x"),
				WithMetadata("mock-error", code.String()), WithRequestID(id))
			e := asError(t, err, code)
			if e.Local {
				t.Fatalf("error %v should come from the gateway", e)
			}
			if e.RequestID() != id {
				t.Fatalf("request id %q in %v, want %q", e.RequestID(), e, id)
			}
			if e.Message == "" || e.Kind() == modelgatev1.ErrorKind_ERROR_KIND_UNSPECIFIED {
				t.Fatalf("error without message or kind: %v", e)
			}

			cs, err := cl.ChatStream(context.Background(), userRequest("mock", "x"),
				WithMetadata("mock-error", code.String()), WithRequestID(id+"-stream"))
			if err != nil {
				t.Fatal(err)
			}
			r := readStream(cs)
			asError(t, r.err, code)
			if r.text != "" {
				t.Fatalf("text %q before an immediate error", r.text)
			}
		})
	}
}

// TestMockErrorAfterOutput fails a stream after three tokens: the chunks
// arrive, then the final chunk, then the error, which is not retryable.
func TestMockErrorAfterOutput(t *testing.T) {
	cl := dialShared(t)
	cs, err := cl.ChatStream(context.Background(), userRequest("mock", "x"),
		WithMetadata("mock-error", "UNAVAILABLE"), WithMetadata("mock-error-after", "3"), WithMetadata("mock-tokens", "10"))
	if err != nil {
		t.Fatal(err)
	}
	r := readStream(cs)
	e := asError(t, r.err, Unavailable)
	if want := mockText(3) + " "; r.text != want {
		t.Fatalf("text before the error %q, want the first 3 of 10 tokens %q", r.text, want)
	}
	if r.final == nil || r.final.GetFinishReason() != modelgatev1.FinishReason_FINISH_REASON_ERROR {
		t.Fatalf("final chunk %v, want finish reason ERROR", r.final)
	}
	if e.Retryable() {
		t.Fatalf("error after output must not be retryable: %v", e)
	}
	for i, c := range r.chunks {
		if c.GetSequence() != uint64(i) {
			t.Fatalf("chunk %d has sequence %d", i, c.GetSequence())
		}
	}
}

func TestMockRetryAfter(t *testing.T) {
	cl := dialShared(t)
	_, err := cl.Chat(context.Background(), userRequest("mock", "x"),
		WithMetadata("mock-error", "RESOURCE_EXHAUSTED"), WithMetadata("mock-retry-after-ms", "1500"))
	e := asError(t, err, ResourceExhausted)
	if e.RetryAfter() != 1500*time.Millisecond {
		t.Fatalf("RetryAfter %v in %v", e.RetryAfter(), e)
	}
}

func TestUnknownModel(t *testing.T) {
	cl := dialShared(t)
	_, err := cl.Chat(context.Background(), userRequest("no-such-model", "x"))
	e := asError(t, err, NotFound)
	if e.Kind() != modelgatev1.ErrorKind_ERROR_KIND_UNKNOWN_MODEL {
		t.Fatalf("kind %v", e.Kind())
	}
	cs, err := cl.ChatStream(context.Background(), userRequest("no-such-model", "x"))
	if err != nil {
		t.Fatal(err)
	}
	r := readStream(cs)
	asError(t, r.err, NotFound)
	if len(r.chunks) != 0 {
		t.Fatalf("a call rejected before reaching a provider sent %d chunks", len(r.chunks))
	}
	_, err = cl.Embed(context.Background(), &modelgatev1.EmbedRequest{Model: "no-such-model", Inputs: []string{"x"}})
	asError(t, err, NotFound)
	_, err = cl.Predict(context.Background(), &modelgatev1.PredictRequest{Model: "no-such-model"})
	asError(t, err, NotFound)
}

func TestInvalidMetadata(t *testing.T) {
	cl := dialShared(t)
	for name, opt := range map[string]CallOption{
		"uppercase key":     WithMetadata("Tenant", "x"),
		"reserved key":      WithMetadata("mg-secret", "x"),
		"space in key":      WithMetadata("a b", "x"),
		"control character": WithMetadata("tenant", "a\x01b"),
		"non-ascii value":   WithMetadata("tenant", "café"),
		"over 8 KiB":        WithMetadata("big", strings.Repeat("x", 9000)),
	} {
		opt := opt
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			_, err := cl.Chat(context.Background(), userRequest("mock", "x"), opt)
			e := asError(t, err, InvalidArgument)
			if e.Local {
				t.Errorf("the gateway, not the client, validates metadata: %v", e)
			}
		})
	}
	// The connection is still fine.
	if _, err := cl.Chat(context.Background(), userRequest("mock", "x"), WithMetadata("tenant", "acme")); err != nil {
		t.Fatal(err)
	}
}

// TestInvalidUTF8 cannot reach the gateway from Go: the protobuf runtime
// refuses to encode it, and the client reports a local InvalidArgument. (The
// gateway's own check is covered by the invalid-utf8 vector in TestRawVectors.)
func TestInvalidUTF8(t *testing.T) {
	cl := dialShared(t)
	_, err := cl.Chat(context.Background(), userRequest("mock", "bad \xc3\x28"))
	if e := asError(t, err, InvalidArgument); !e.Local {
		t.Fatalf("expected a local error: %v", e)
	}
}

func TestUnknownMethod(t *testing.T) {
	cl := dialShared(t)
	var resp modelgatev1.ChatResponse
	err := cl.Invoke(context.Background(), "/modelgate.v1.Gateway/Nope", userRequest("mock", "x"), &resp)
	asError(t, err, Unimplemented)
}

func TestRequestTooLarge(t *testing.T) {
	cl := dialShared(t)
	_, err := cl.Chat(context.Background(), userRequest("mock", strings.Repeat("x", 5<<20)))
	if e := asError(t, err, ResourceExhausted); !e.Local {
		t.Fatalf("oversized request should be refused by the client: %v", e)
	}
	if _, err := cl.Chat(context.Background(), userRequest("mock", "x")); err != nil {
		t.Fatal(err)
	}
}

func TestContextAlreadyDone(t *testing.T) {
	cl := dialShared(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := cl.Chat(ctx, userRequest("mock", "x"))
	asError(t, err, Canceled)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is(%v, context.Canceled) is false", err)
	}
	if _, err := cl.ChatStream(ctx, userRequest("mock", "x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("ChatStream: %v", err)
	}
	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	_, err = cl.Chat(dctx, userRequest("mock", "x"))
	asError(t, err, DeadlineExceeded)
}

func TestClosedClient(t *testing.T) {
	cl := dialShared(t)
	cs, err := cl.ChatStream(context.Background(), userRequest("mock", "x"),
		WithMetadata("mock-tokens", "1000"), WithMetadata("mock-interval-ms", "10"))
	if err != nil {
		t.Fatal(err)
	}
	cl.Close()
	r := readStream(cs)
	asError(t, r.err, Canceled)
	_, err = cl.Chat(context.Background(), userRequest("mock", "x"))
	asError(t, err, Canceled)
	if _, err := cs.Recv(); err == io.EOF {
		t.Fatal("Recv after Close returned io.EOF")
	}
}

func ExampleCodeOf() {
	err := error(&Error{Code: NotFound, Message: "unknown model"})
	fmt.Println(CodeOf(err))
	// Output: NOT_FOUND
}
