package modelgate

import (
	"context"
	"io"
	"sync"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
	"google.golang.org/protobuf/proto"
)

// ChatStream is a streamed chat completion. Read it with Recv until io.EOF (the
// gateway ended the stream with status OK) or another error, and Close it when
// done; Close before the end cancels the call on the gateway and upstream.
//
// Recv and RecvMsg must be called from one goroutine at a time; Close may be
// called from any goroutine. Cancelling the context passed to
// Client.ChatStream also cancels the stream.
type ChatStream struct {
	cl  *Client
	ctx context.Context
	co  callOptions

	mu       sync.Mutex
	s        *stream
	msg      *buffer // the encoded request, kept for a transparent retry until output arrives
	retries  int
	received int
	closed   bool
	final    *modelgatev1.ChatChunk
}

// ChatStream starts a streamed chat completion. Errors of the call itself
// (unknown model, upstream failures, ...) are returned by Recv.
func (cl *Client) ChatStream(ctx context.Context, req *modelgatev1.ChatRequest, opts ...CallOption) (*ChatStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(err)
	}
	cs := &ChatStream{cl: cl, ctx: ctx, co: cl.callOptions(opts)}
	msg, err := encodeRequest(req)
	if err != nil {
		return nil, err
	}
	s, err := cl.open(ctx, MethodChatStream, &cs.co, msg, false)
	if err != nil {
		putBuffer(msg)
		return nil, err
	}
	s.watch(ctx)
	cs.s, cs.msg = s, msg
	return cs, nil
}

// Context returns the stream's context.
func (cs *ChatStream) Context() context.Context { return cs.ctx }

// Recv returns the next chunk. It returns io.EOF after the gateway ended the
// stream with status OK, and a *Error otherwise; a stream that ends without
// its END (the connection broke) is an Unavailable error, never io.EOF.
func (cs *ChatStream) Recv() (*modelgatev1.ChatChunk, error) {
	m := new(modelgatev1.ChatChunk)
	if err := cs.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}

// RecvMsg is Recv into a caller-provided chunk, which it resets first; reusing
// one chunk avoids an allocation per chunk.
func (cs *ChatStream) RecvMsg(m *modelgatev1.ChatChunk) error {
	cs.mu.Lock()
	s := cs.s
	cs.mu.Unlock()
	buf, err := s.recv(cs.ctx)
	for err != nil && err != io.EOF && s.refused {
		if s = cs.retry(); s == nil {
			break
		}
		buf, err = s.recv(cs.ctx)
	}
	if err != nil {
		cs.releaseRequest()
		return err
	}
	err = proto.Unmarshal(buf.b, m)
	putBuffer(buf)
	if err != nil {
		derr := newLocalError(Internal, modelgatev1.ErrorKind_ERROR_KIND_INTERNAL, false, err, "cannot decode a ChatChunk: %v", err)
		s.cancel(derr)
		return derr
	}
	cs.mu.Lock()
	cs.received++
	if cs.received == 1 {
		putBuffer(cs.msg)
		cs.msg = nil
	}
	if m.GetFinal() {
		cs.final = proto.Clone(m).(*modelgatev1.ChatChunk)
	}
	cs.mu.Unlock()
	return nil
}

// retry reopens a stream the gateway refused before producing output (it was
// draining), on a new connection. It returns nil when it may not retry.
func (cs *ChatStream) retry() *stream {
	cs.mu.Lock()
	msg := cs.msg
	if msg == nil || cs.closed || cs.received > 0 || cs.retries >= cs.cl.opts.maxRetries || cs.ctx.Err() != nil {
		cs.mu.Unlock()
		return nil
	}
	cs.retries++
	cs.msg = nil // owned by this retry until it has been sent
	cs.mu.Unlock()
	s, err := cs.cl.open(cs.ctx, MethodChatStream, &cs.co, msg, false)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		putBuffer(msg)
		if s != nil {
			s.cancel(newLocalError(Canceled, modelgatev1.ErrorKind_ERROR_KIND_CANCELLED, false, nil, "stream closed by the application"))
		}
		return nil
	}
	cs.msg = msg
	if err != nil {
		return nil
	}
	s.watch(cs.ctx)
	cs.s = s
	return s
}

func (cs *ChatStream) releaseRequest() {
	cs.mu.Lock()
	putBuffer(cs.msg)
	cs.msg = nil
	cs.mu.Unlock()
}

// Close ends the stream. If the gateway has not ended it yet, Close cancels
// the call (the gateway stops the upstream request) and later Recv calls
// return a Canceled error. Close is idempotent and always returns nil.
func (cs *ChatStream) Close() error {
	cs.mu.Lock()
	s := cs.s
	cs.closed = true
	putBuffer(cs.msg)
	cs.msg = nil
	cs.mu.Unlock()
	s.cancel(newLocalError(Canceled, modelgatev1.ErrorKind_ERROR_KIND_CANCELLED, false, nil, "stream closed by the application"))
	s.release()
	return nil
}

// Final returns the stream's final chunk (final = true), which carries the
// finish reason, the assembled tool calls and the usage, once Recv returned
// it; nil before.
func (cs *ChatStream) Final() *modelgatev1.ChatChunk {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.final
}

// Usage returns the usage of the final chunk, or nil before it arrived.
func (cs *ChatStream) Usage() *modelgatev1.Usage { return cs.Final().GetUsage() }

// Trailers returns the trailing metadata of the stream's END once Recv has
// returned io.EOF or an error the gateway reported.
func (cs *ChatStream) Trailers() map[string]string {
	cs.mu.Lock()
	s := cs.s
	cs.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trailers
}

// ForEach calls fn for every chunk until the stream ends, then closes it. It
// returns nil after a successful end, the stream's error, or fn's first error
// (which cancels the stream).
func (cs *ChatStream) ForEach(fn func(*modelgatev1.ChatChunk) error) error {
	defer cs.Close()
	for {
		chunk, err := cs.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(chunk); err != nil {
			return err
		}
	}
}
