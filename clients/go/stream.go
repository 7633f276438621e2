package modelgate

import (
	"context"
	"io"
	"sync"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
	"google.golang.org/protobuf/proto"
)

// stream is the client's state of one call. The reader goroutine appends
// received MESSAGE payloads and records the END; the caller consumes them.
type stream struct {
	c      *conn
	id     uint32
	unary  bool
	done   chan struct{} // closed when the stream has ended (END, failure or local cancel)
	signal chan struct{} // capacity 1: wakes a waiting Recv; nil for unary calls
	role   chan struct{} // capacity 1: the read role handed to this stream's consumer
	// watched is set before the stream is used when a goroutine cancels it when
	// its context ends (ChatStream); see lead.
	watched bool

	mu        sync.Mutex
	queue     []*buffer // received payloads not yet consumed, from head on
	head      int
	ended     bool
	abandoned bool // ended locally (cancel, Close, bad frame): frames are dropped
	refused   bool // the gateway provably did not process the call
	err       *Error
	trailers  map[string]string
	credit    int64  // what the gateway may still send, as the client accounts it
	overdrawn bool   // a MESSAGE (the final chunk) arrived without credit
	consumed  uint32 // bytes handed to the application since the last WINDOW
	received  int    // MESSAGE frames received
}

func newStream(c *conn, unary bool) *stream {
	s := &stream{c: c, unary: unary, done: make(chan struct{}), credit: int64(c.opts.window)}
	if !unary {
		s.signal = make(chan struct{}, 1)
	}
	return s
}

// ready reports whether the consumer has something to take: a message of a
// streaming call, or the end of the stream.
func (s *stream) ready() bool {
	s.mu.Lock()
	r := s.ended || (!s.unary && s.head < len(s.queue))
	s.mu.Unlock()
	return r
}

// wake returns the channel that signals progress to the consumer.
func (s *stream) wake() <-chan struct{} {
	if s.unary {
		return s.done
	}
	return s.signal
}

func (s *stream) notify() {
	if s.signal != nil {
		select {
		case s.signal <- struct{}{}:
		default:
		}
	}
}

// deliver queues a MESSAGE payload received for the stream. It returns an
// error when the frame breaks the protocol for this stream.
func (s *stream) deliver(buf *buffer) *Error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		putBuffer(buf)
		return nil
	}
	if s.credit <= 0 {
		// A ChatStream's final chunk is not flow-controlled (§4.2), so one
		// MESSAGE may arrive without credit; a second one breaks the protocol.
		if s.overdrawn {
			s.mu.Unlock()
			putBuffer(buf)
			return newLocalError(Internal, modelgatev1.ErrorKind_ERROR_KIND_INTERNAL, false, nil,
				"flow-control violation: the gateway sent a MESSAGE on stream %d without credit", s.id)
		}
		s.overdrawn = true
	}
	if s.unary && s.received > 0 {
		s.mu.Unlock()
		putBuffer(buf)
		return newLocalError(Internal, modelgatev1.ErrorKind_ERROR_KIND_INTERNAL, false, nil,
			"the gateway sent more than one response message for a unary call")
	}
	s.credit -= int64(len(buf.b))
	s.received++
	if s.head > 64 && s.head*2 > len(s.queue) {
		n := copy(s.queue, s.queue[s.head:])
		for i := n; i < len(s.queue); i++ {
			s.queue[i] = nil
		}
		s.queue, s.head = s.queue[:n], 0
	}
	s.queue = append(s.queue, buf)
	s.mu.Unlock()
	s.notify()
	return nil
}

// finish records the end of the stream: the END status (err nil for OK) or the
// failure of the connection. refused marks a call the gateway did not process.
func (s *stream) finish(trailers map[string]string, err *Error, refused bool) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.refused = refused
	if err != nil && err.Local {
		err = s.ownCopy(err)
	}
	s.ended, s.err, s.trailers = true, err, trailers
	close(s.done)
	s.mu.Unlock()
	s.notify()
}

// ownCopy gives a stream its own copy of a connection-wide error. A stream
// that already received output is not retryable: retrying would repeat it.
func (s *stream) ownCopy(err *Error) *Error {
	e := *err
	e.Details = proto.Clone(err.Details).(*modelgatev1.ErrorDetail)
	switch {
	case s.refused:
		e.Details.Retryable = true
	case s.received > 0:
		e.Details.Retryable = false
	}
	return &e
}

// abandon ends the stream locally with err and drops what it has queued. It
// reports whether the stream was still running, i.e. whether the gateway
// should be told to cancel it.
func (s *stream) abandon(err *Error) bool {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	s.ended, s.abandoned, s.err = true, true, err
	queued := s.queue[s.head:]
	s.queue, s.head = nil, 0
	close(s.done)
	s.mu.Unlock()
	for _, b := range queued {
		putBuffer(b)
	}
	s.notify()
	return true
}

// cancel ends the stream locally with err and sends CANCEL if it was running.
// The stream keeps its slot until the gateway's END arrives.
func (s *stream) cancel(err *Error) {
	if s.abandon(err) {
		s.c.interruptLeader(s)
		s.c.writeCancel(s.id)
	}
}

// release drops the queued payloads of an ended stream.
func (s *stream) release() {
	s.mu.Lock()
	queued := s.queue[s.head:]
	s.queue, s.head = nil, 0
	s.mu.Unlock()
	for _, b := range queued {
		putBuffer(b)
	}
}

// recv returns the next payload of a streaming call, io.EOF after an OK END,
// or the stream's error. The caller must putBuffer the payload. Consuming a
// payload earns the gateway more credit, sent as WINDOW once half the window
// has been consumed.
func (s *stream) recv(ctx context.Context) (*buffer, error) {
	for {
		s.mu.Lock()
		if s.head < len(s.queue) {
			buf := s.queue[s.head]
			s.queue[s.head] = nil
			s.head++
			if s.head == len(s.queue) {
				s.queue, s.head = s.queue[:0], 0
			}
			var grant uint32
			if !s.ended {
				s.consumed += uint32(len(buf.b))
				if s.consumed >= s.c.opts.window/2 {
					grant, s.consumed = s.consumed, 0
					s.credit += int64(grant)
				}
			}
			s.mu.Unlock()
			if grant > 0 {
				s.c.writeWindow(s.id, grant)
			}
			return buf, nil
		}
		if s.ended {
			err := s.err
			s.mu.Unlock()
			if err == nil {
				return nil, io.EOF
			}
			return nil, withContext(ctx, err)
		}
		s.mu.Unlock()
		if err := s.await(ctx); err != nil {
			s.cancel(contextError(err))
		}
	}
}

// awaitUnary waits for the END of a unary call and returns its one response
// payload. The caller must putBuffer it.
func (s *stream) awaitUnary(ctx context.Context) (*buffer, error) {
	if err := s.await(ctx); err != nil {
		s.cancel(contextError(err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, withContext(ctx, s.err)
	}
	if n := len(s.queue) - s.head; n != 1 {
		return nil, newLocalError(Internal, modelgatev1.ErrorKind_ERROR_KIND_INTERNAL, false, nil,
			"the gateway ended a unary call with status OK after %d response messages", n)
	}
	buf := s.queue[s.head]
	s.queue, s.head = nil, 0
	return buf, nil
}

// withContext relates a status the gateway reported to the call's context:
// the gateway's deadline is the context's deadline, so its DEADLINE_EXCEEDED
// wraps context.DeadlineExceeded; and a CANCELLED that arrives after the
// context's deadline is reported as DEADLINE_EXCEEDED, as gRPC does.
func withContext(ctx context.Context, err error) error {
	e, ok := err.(*Error)
	if !ok || e.Local {
		return err
	}
	_, hasDeadline := ctx.Deadline()
	switch {
	case e.Code == DeadlineExceeded && hasDeadline:
	case e.Code == Canceled && ctx.Err() == context.DeadlineExceeded:
	default:
		return err
	}
	c := *e
	c.Code, c.cause = DeadlineExceeded, context.DeadlineExceeded
	return &c
}

// watch cancels the stream when ctx ends before the stream does. Unary calls
// need no watcher: their caller waits on both.
func (s *stream) watch(ctx context.Context) {
	done := ctx.Done()
	if done == nil {
		return
	}
	s.watched = true
	go func() {
		select {
		case <-done:
			s.cancel(contextError(ctx.Err()))
		case <-s.done:
		}
	}()
}
