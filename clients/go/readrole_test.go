package modelgate

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests of the read role (readrole.go): callers that read for themselves must
// still be interruptible, hand over cleanly to concurrent calls, and leave an
// idle connection watched by the background reader.

// TestCancelWhileReading cancels a unary call whose caller is blocked reading
// the socket itself (its stream is the only one).
func TestCancelWhileReading(t *testing.T) {
	cl := dialShared(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := cl.Chat(ctx, userRequest("mock", "x"), WithMetadata("mock-first-token-ms", "60000"))
	asError(t, err, Canceled)
	if _, err := cl.Chat(context.Background(), userRequest("mock", "x")); err != nil {
		t.Fatalf("next call: %v", err)
	}
}

// TestCloseWhileRecvReads closes a stream from another goroutine while its
// consumer is blocked in Recv, reading the socket itself.
func TestCloseWhileRecvReads(t *testing.T) {
	cl := dialShared(t)
	cs, err := cl.ChatStream(context.Background(), userRequest("mock", "x"),
		WithMetadata("mock-tokens", "2"), WithMetadata("mock-interval-ms", "60000"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Recv(); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, func() { cs.Close() })
	_, err = cs.Recv()
	asError(t, err, Canceled)
	awaitEnded(t, cs.s)
}

// TestIdleConnectionIsWatched stops the gateway while the client is idle: the
// background reader must notice, so the connection is no longer used.
func TestIdleConnectionIsWatched(t *testing.T) {
	g := ownGateway(t, gatewayConfig{})
	cl := dialAddr(t, g.unixAddr)
	for i := 0; i < 3; i++ {
		if _, err := cl.Chat(context.Background(), userRequest("mock", "x")); err != nil {
			t.Fatal(err)
		}
	}
	cl.mu.Lock()
	c := cl.conn
	cl.mu.Unlock()
	if err := g.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the idle connection did not notice the gateway going away")
	}
}

// TestMixedLoad runs sequential and concurrent unary calls and streams, some
// cancelled, so that the read role changes hands in every way; everything
// must finish with the expected result.
func TestMixedLoad(t *testing.T) {
	cl := dialShared(t, WithInitialWindowSize(2048))
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for i := 0; i < 40; i++ {
				if err := mixedStep(cl, rng); err != nil {
					errs <- fmt.Errorf("worker %d step %d: %w", w, i, err)
					return
				}
				if rng.Intn(4) == 0 {
					time.Sleep(time.Duration(rng.Intn(3000)) * time.Microsecond) // let the role go idle
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func mixedStep(cl *Client, rng *rand.Rand) error {
	tokens := 1 + rng.Intn(300)
	md := []CallOption{WithMetadata("mock-tokens", fmt.Sprint(tokens))}
	if rng.Intn(3) == 0 {
		md = append(md, WithMetadata("mock-interval-ms", "1"))
	}
	switch rng.Intn(4) {
	case 0:
		resp, err := cl.Chat(context.Background(), userRequest("mock", "x"), md...)
		if err != nil {
			return err
		}
		if resp.GetText() != mockText(tokens) {
			return fmt.Errorf("unary text of %d bytes, want %d", len(resp.GetText()), len(mockText(tokens)))
		}
	case 1:
		cs, err := cl.ChatStream(context.Background(), userRequest("mock", "x"), md...)
		if err != nil {
			return err
		}
		r := readStream(cs)
		if r.err != nil || r.text != mockText(tokens) {
			return fmt.Errorf("stream: %v, text of %d bytes", r.err, len(r.text))
		}
	case 2: // cancelled part-way
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.Intn(5000))*time.Microsecond)
		defer cancel()
		_, err := cl.Chat(ctx, userRequest("mock", "x"), WithMetadata("mock-tokens", "50"), WithMetadata("mock-interval-ms", "1"))
		if c := CodeOf(err); err != nil && c != DeadlineExceeded {
			return fmt.Errorf("cancelled call: %v", err)
		}
	case 3: // stream closed early
		cs, err := cl.ChatStream(context.Background(), userRequest("mock", "x"), WithMetadata("mock-tokens", "1000"))
		if err != nil {
			return err
		}
		for j := rng.Intn(20); j > 0; j-- {
			if _, err := cs.Recv(); err != nil {
				return err
			}
		}
		cs.Close()
	}
	return nil
}
