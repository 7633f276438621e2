package modelgate

import (
	"context"
	"io"
	"path/filepath"
	"syscall"
	"testing"
)

// ownGateway starts a gateway for one test, stopped at cleanup.
func ownGateway(t *testing.T, cfg gatewayConfig) *gateway {
	t.Helper()
	requireGateway(t)
	g, err := startGateway(shared.bin, filepath.Join(t.TempDir(), "gw"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.stop(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("gateway output:\n%s", g.output())
		}
	})
	return g
}

// startLongStream opens a slow mock stream and reads its first chunk.
func startLongStream(t *testing.T, cl *Client) *ChatStream {
	t.Helper()
	cs, err := cl.ChatStream(context.Background(), userRequest("mock", "x"),
		WithMetadata("mock-tokens", "100000"), WithMetadata("mock-interval-ms", "10"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Recv(); err != nil {
		t.Fatal(err)
	}
	return cs
}

// drainUntilError reads a stream to its end and requires an error.
func drainUntilError(t *testing.T, cs *ChatStream) error {
	t.Helper()
	for {
		_, err := cs.Recv()
		if err == io.EOF {
			t.Fatal("a stream cut by the gateway's exit ended with io.EOF")
		}
		if err != nil {
			return err
		}
	}
}

// TestGatewayKilled kills the gateway during a stream: the stream fails with
// Unavailable (it ended without END), calls fail with Unavailable while
// nothing listens, and the next call after a restart succeeds.
func TestGatewayKilled(t *testing.T) {
	g := ownGateway(t, gatewayConfig{})
	cl := dialAddr(t, g.unixAddr)
	cs := startLongStream(t, cl)
	if err := g.stop(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e := asError(t, drainUntilError(t, cs), Unavailable)
	if !e.Local || e.Retryable() {
		t.Fatalf("a stream cut after output: %v; want a local, non-retryable Unavailable", e)
	}
	_, err := cl.Chat(context.Background(), userRequest("mock", "x"))
	if e := asError(t, err, Unavailable); !e.Retryable() {
		t.Fatalf("nothing listening should be retryable: %v", e)
	}
	if err := g.start(); err != nil {
		t.Fatalf("restart after SIGKILL (stale socket file?): %v", err)
	}
	if _, err := cl.Chat(context.Background(), userRequest("mock", "x")); err != nil {
		t.Fatalf("first call after the restart: %v", err)
	}
}

// TestGatewayRestart stops the gateway with SIGTERM and a short drain: the
// long stream in flight ends with Unavailable, and after a restart on the same
// socket the same client works again.
func TestGatewayRestart(t *testing.T) {
	g := ownGateway(t, gatewayConfig{drainTimeoutMS: 300})
	cl := dialAddr(t, g.unixAddr)
	if _, err := cl.Chat(context.Background(), userRequest("mock", "x")); err != nil {
		t.Fatal(err)
	}
	cs := startLongStream(t, cl)
	if err := g.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	asError(t, drainUntilError(t, cs), Unavailable)
	_, err := cl.Chat(context.Background(), userRequest("mock", "x"))
	asError(t, err, Unavailable)
	if err := g.start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := cl.Chat(context.Background(), userRequest("mock", "x")); err != nil {
			t.Fatalf("call %d after the restart: %v", i, err)
		}
	}
	cs2, err := cl.ChatStream(context.Background(), userRequest("mock", "x"))
	if err != nil {
		t.Fatal(err)
	}
	checkMockStream(t, readStream(cs2), 16, 1)
}

// TestGracefulDrain sends SIGTERM with a long drain bound while a short stream
// runs: the gateway sends GOAWAY, the stream still completes with status OK,
// and the client opens no new stream on the draining connection.
func TestGracefulDrain(t *testing.T) {
	g := ownGateway(t, gatewayConfig{drainTimeoutMS: 20000})
	cl := dialAddr(t, g.unixAddr)
	cs, err := cl.ChatStream(context.Background(), userRequest("mock", "x"),
		WithMetadata("mock-tokens", "40"), WithMetadata("mock-interval-ms", "20"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := cs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	cl.mu.Lock()
	c := cl.conn
	cl.mu.Unlock()
	g.cmd.Process.Signal(syscall.SIGTERM)
	text := first.GetText()
	for {
		chunk, err := cs.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("stream during a graceful drain: %v", err)
		}
		text += chunk.GetText()
	}
	if text != mockText(40) {
		t.Fatalf("drained stream text %q", text)
	}
	c.mu.Lock()
	goingAway := c.goingAway
	c.mu.Unlock()
	if !goingAway {
		t.Fatal("the client did not see a GOAWAY during the drain")
	}
	<-g.exited
}
