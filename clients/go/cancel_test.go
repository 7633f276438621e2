package modelgate

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

var requestSeq int64

// uniqueID returns a request id no other test uses.
func uniqueID(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), atomic.AddInt64(&requestSeq, 1))
}

// awaitEnded waits until the gateway's END for the stream has arrived (the
// client forgets a stream only then), failing the test if it never does.
func awaitEnded(t *testing.T, s *stream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for s.c.lookup(s.id) != nil {
		select {
		case <-ctx.Done():
			t.Fatalf("the gateway never ended stream %d after CANCEL", s.id)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestDeadlineUnary(t *testing.T) {
	cl := dialShared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := cl.Chat(ctx, userRequest("mock", "x"), WithMetadata("mock-first-token-ms", "60000"))
	asError(t, err, DeadlineExceeded)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("errors.Is(%v, context.DeadlineExceeded) is false", err)
	}
	if _, err := cl.Chat(context.Background(), userRequest("mock", "x")); err != nil {
		t.Fatalf("call after a deadline: %v", err)
	}
}

func TestDeadlineStream(t *testing.T) {
	cl := dialShared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cs, err := cl.ChatStream(ctx, userRequest("mock", "x"),
		WithMetadata("mock-tokens", "100000"), WithMetadata("mock-interval-ms", "20"))
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	r := readStream(cs)
	asError(t, r.err, DeadlineExceeded)
	cs.mu.Lock()
	s := cs.s
	cs.mu.Unlock()
	awaitEnded(t, s)
}

// TestCloseSendsCancel closes a running mock stream: the gateway answers the
// CANCEL with END, and Recv reports Canceled.
func TestCloseSendsCancel(t *testing.T) {
	cl := dialShared(t)
	cs, err := cl.ChatStream(context.Background(), userRequest("mock", "x"),
		WithMetadata("mock-tokens", "100000"), WithMetadata("mock-interval-ms", "5"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Recv(); err != nil {
		t.Fatal(err)
	}
	cs.Close()
	_, err = cs.Recv()
	asError(t, err, Canceled)
	awaitEnded(t, cs.s)
	cs.Close() // idempotent
}

// TestCloseCancelsUpstream closes a stream early; the fake upstream sees the
// gateway drop its request (outcome client_closed).
func TestCloseCancelsUpstream(t *testing.T) {
	f := requireFake(t)
	cl := dialShared(t)
	id := uniqueID("close")
	cs, err := cl.ChatStream(context.Background(), userRequest("slow", "x"), WithRequestID(id))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := cs.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	cs.Close()
	f.waitOutcome(t, id, "client_closed")
}

func TestContextCancelCancelsUpstream(t *testing.T) {
	f := requireFake(t)
	cl := dialShared(t)
	id := uniqueID("ctx")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs, err := cl.ChatStream(ctx, userRequest("slow", "x"), WithRequestID(id))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel() // no Close, no Recv: the stream's context watcher sends CANCEL
	f.waitOutcome(t, id, "client_closed")
	_, err = cs.Recv()
	asError(t, err, Canceled)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is(%v, context.Canceled) is false", err)
	}
}

func TestUnaryCancelCancelsUpstream(t *testing.T) {
	f := requireFake(t)
	cl := dialShared(t)
	id := uniqueID("unary")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Cancel once the upstream request is in progress.
		for ctx.Err() == nil {
			if evs, err := f.events(id); err == nil && len(evs) > 0 {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	_, err := cl.Chat(ctx, userRequest("slow", "x"), WithRequestID(id))
	asError(t, err, Canceled)
	f.waitOutcome(t, id, "client_closed")
}

func TestDeadlineCancelsUpstream(t *testing.T) {
	f := requireFake(t)
	cl := dialShared(t)
	id := uniqueID("deadline")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := cl.Chat(ctx, userRequest("stall", "x"), WithRequestID(id))
	asError(t, err, DeadlineExceeded)
	f.waitOutcome(t, id, "client_closed")
}

// upstreamStatuses maps the fake upstream's HTTP error statuses to the codes
// of docs/protocol.md §3.2. writeConfig adds a model "up-<status>" for each.
var upstreamStatuses = map[int]Code{
	400: InvalidArgument,
	401: FailedPrecondition,
	403: PermissionDenied,
	404: NotFound,
	408: Unavailable,
	409: Aborted,
	429: ResourceExhausted,
	500: Unavailable,
	503: Unavailable,
	529: Unavailable,
}

// TestUpstreamErrors checks the code and details of provider HTTP errors.
func TestUpstreamErrors(t *testing.T) {
	requireFake(t)
	cl := dialShared(t)
	for status, code := range upstreamStatuses {
		status, code := status, code
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			id := uniqueID("up")
			_, err := cl.Chat(context.Background(), userRequest(fmt.Sprintf("up-%d", status), "x"), WithRequestID(id))
			e := asError(t, err, code)
			d := e.Details
			if d.GetProvider() != "fake" || d.GetUpstreamStatus() != uint32(status) || d.GetRequestId() != id {
				t.Fatalf("details %v, want provider fake, upstream status %d, request id %s", d, status, id)
			}
			if status == 429 && (e.RetryAfter() != 2*time.Second || !e.Retryable()) {
				t.Fatalf("429: retryable %v retry after %v, want retryable after 2s", e.Retryable(), e.RetryAfter())
			}
			if status >= 500 && !e.Retryable() {
				t.Fatalf("%d should be retryable: %v", status, e)
			}
		})
	}
}
