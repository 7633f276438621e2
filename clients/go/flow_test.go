package modelgate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// queued returns how many payload bytes a stream holds for its consumer, and
// the credit the client has left the gateway.
func queued(s *stream) (bytes int, credit int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.queue[s.head:] {
		bytes += len(b.b)
	}
	return bytes, s.credit
}

// TestSlowConsumerDoesNotStall leaves one stream unread while other calls run
// on the same connection. The unread stream's buffer stays within its
// flow-control window, the other calls complete, and the stalled stream can
// still be read to its end afterwards (the WINDOW grants resume it).
func TestSlowConsumerDoesNotStall(t *testing.T) {
	const window = 8 << 10
	cl := dialShared(t, WithInitialWindowSize(window))
	const tokens = 20000
	stalled, err := cl.ChatStream(context.Background(), userRequest("mock", "x"),
		WithMetadata("mock-tokens", fmt.Sprint(tokens)))
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()

	// Wait until the gateway has used up the stream's credit.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		if _, credit := queued(stalled.s); credit <= 0 {
			break
		}
		select {
		case <-ctx.Done():
			n, credit := queued(stalled.s)
			t.Fatalf("the gateway never used the window: %d bytes queued, credit %d", n, credit)
		case <-time.After(2 * time.Millisecond):
		}
	}

	// Other calls on the same connection proceed.
	var wg sync.WaitGroup
	errs := make(chan error, 21)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cl.Chat(context.Background(), userRequest("mock", "x"), WithMetadata("mock-tokens", "50")); err != nil {
				errs <- err
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		cs, err := cl.ChatStream(context.Background(), userRequest("mock", "x"), WithMetadata("mock-tokens", "2000"))
		if err != nil {
			errs <- err
			return
		}
		if r := readStream(cs); r.err != nil || r.text != mockText(2000) {
			errs <- fmt.Errorf("second stream: %v (text of %d bytes)", r.err, len(r.text))
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The stalled stream never held more than its window plus one message.
	n, credit := queued(stalled.s)
	if n > window+1024 || credit < -1024 {
		t.Fatalf("unread stream buffers %d bytes (credit %d) with a %d-byte window", n, credit, window)
	}

	// Reading it now drains it completely.
	r := readStream(stalled)
	if r.err != nil {
		t.Fatalf("stalled stream: %v", r.err)
	}
	if r.text != mockText(tokens) {
		t.Fatalf("stalled stream text differs (%d bytes, want %d)", len(r.text), len(mockText(tokens)))
	}
	for i, c := range r.chunks {
		if c.GetSequence() != uint64(i) {
			t.Fatalf("chunk %d has sequence %d", i, c.GetSequence())
		}
	}
}

// TestLargeResponseWithSmallWindow streams far more than the window, so the
// client must keep granting credit as Recv consumes.
func TestLargeResponseWithSmallWindow(t *testing.T) {
	cl := dialShared(t, WithInitialWindowSize(1024))
	cs, err := cl.ChatStream(context.Background(), userRequest("mock", "x"), WithMetadata("mock-tokens", "5000"))
	if err != nil {
		t.Fatal(err)
	}
	r := readStream(cs)
	if r.err != nil || !strings.HasPrefix(r.text, "The quick") || r.text != mockText(5000) {
		t.Fatalf("stream: %v (%d bytes of text)", r.err, len(r.text))
	}
}
