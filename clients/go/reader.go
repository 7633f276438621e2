package modelgate

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"sync/atomic"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
	"google.golang.org/protobuf/proto"
)

// frameReader is the state of the frame being read. Reads can be interrupted
// (to hand the read role over, see readrole.go) in the middle of a frame, so
// the progress is kept here. Only the goroutine holding the read role uses it.
type frameReader struct {
	hdr      [frameHeaderLen]byte
	hdrN     int
	h        frameHeader
	inFrame  bool    // the header is complete; reading the payload
	buf      *buffer // the payload of a MESSAGE (handed to its stream)
	payload  []byte  // the payload being filled
	payN     int
	scratch  []byte // payloads of control frames, decoded right away
	gotHello bool
}

// errConnDone is returned by readOne once the connection has ended.
var errConnDone = errors.New("modelgate: connection ended")

// readOne reads the rest of one frame and dispatches it: MESSAGE payloads and
// END statuses go to their streams, which never makes the reader wait for a
// stream's consumer (flow control bounds what a stream can queue). It returns
// nil after a frame, an os.ErrDeadlineExceeded error when the read was
// interrupted (the partial frame is kept), and errConnDone once the connection
// has ended.
func (c *conn) readOne() error {
	fr := &c.fr
	if !fr.inFrame {
		n, err := io.ReadFull(c.br, fr.hdr[fr.hdrN:])
		fr.hdrN += n
		if err != nil {
			return c.readError(err)
		}
		fr.hdrN = 0
		h := parseFrameHeader(fr.hdr[:])
		if !c.checkHeader(h, fr.gotHello) {
			return errConnDone
		}
		fr.h, fr.inFrame, fr.payN = h, true, 0
		if h.Type == frameMessage {
			fr.buf = getBuffer(int(h.Length))
			fr.payload = fr.buf.b
		} else {
			if cap(fr.scratch) < int(h.Length) {
				fr.scratch = make([]byte, h.Length)
			}
			fr.payload = fr.scratch[:h.Length]
		}
	}
	n, err := io.ReadFull(c.br, fr.payload[fr.payN:])
	fr.payN += n
	if err != nil {
		return c.readError(err)
	}
	fr.inFrame = false
	buf, payload := fr.buf, fr.payload
	fr.buf, fr.payload = nil, nil
	if fr.h.Type == frameHello {
		fr.gotHello = true
	}
	if !c.dispatch(fr.h, payload, buf) {
		return errConnDone
	}
	return nil
}

// readError sorts a read error: an interruption is returned as is, anything
// else ends the connection.
func (c *conn) readError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	c.fail(c.lostError(err))
	return errConnDone
}

// checkHeader validates a frame header before its payload is read; a bad one
// ends the connection.
func (c *conn) checkHeader(h frameHeader, gotHello bool) bool {
	switch {
	case h.Length > c.opts.maxRecvFrame:
		c.protocolError("%s frame of %d bytes exceeds max_frame_size %d", h.Type, h.Length, c.opts.maxRecvFrame)
	case h.Type < frameHello || h.Type > frameGoAway:
		c.protocolError("unknown frame type %s", h.Type)
	case h.Type.isStreamFrame() == (h.StreamID == 0):
		c.protocolError("%s frame on stream %d", h.Type, h.StreamID)
	case !gotHello && h.Type != frameHello && h.Type != frameGoAway:
		c.protocolError("first frame is %s, not HELLO", h.Type)
	case gotHello && h.Type == frameHello:
		c.protocolError("second HELLO")
	case h.Type == frameCall || h.Type == frameCancel:
		c.protocolError("%s frame sent by the server", h.Type)
	default:
		return true
	}
	return false
}

// dispatch acts on a complete frame. buf holds a MESSAGE's payload; other
// payloads are only valid during the call. It returns false once the
// connection has ended.
func (c *conn) dispatch(h frameHeader, payload []byte, buf *buffer) bool {
	switch h.Type {
	case frameMessage:
		return c.onMessage(h, buf)
	case frameHello:
		return c.onHello(payload)
	case frameEnd:
		return c.onEnd(h, payload)
	case frameWindow:
		return c.onWindow(h, payload)
	case framePing:
		if len(payload) != 8 {
			c.protocolError("PING payload of %d bytes", len(payload))
			return false
		}
		pong := append([]byte(nil), payload...)
		go c.writeFrame(framePong, 0, 0, pong) // the reader never waits on the write path
		return true
	case framePong:
		if len(payload) != 8 { // the client sends no PINGs; a PONG is checked and ignored
			c.protocolError("PONG payload of %d bytes", len(payload))
			return false
		}
		return true
	case frameGoAway:
		return c.onGoAway(payload)
	}
	c.protocolError("unexpected frame type %s", h.Type)
	return false
}

// streamFor returns the stream a frame belongs to. Frames for streams the
// client has already forgotten are dropped (nil, true); a frame for a stream
// the client never opened ends the connection (nil, false).
func (c *conn) streamFor(h frameHeader) (*stream, bool) {
	if s := c.lookup(h.StreamID); s != nil {
		return s, true
	}
	if h.StreamID > atomic.LoadUint32(&c.openIDs) {
		c.protocolError("%s frame for stream %d, which was never opened", h.Type, h.StreamID)
		return nil, false
	}
	return nil, true
}

func (c *conn) onMessage(h frameHeader, buf *buffer) bool {
	s, ok := c.streamFor(h)
	if s == nil {
		putBuffer(buf)
		return ok
	}
	if h.Flags&flagCompressed != 0 {
		putBuffer(buf)
		c.failStream(s, newLocalError(Internal, modelgatev1.ErrorKind_ERROR_KIND_INTERNAL, false, nil,
			"the gateway sent a COMPRESSED message; protocol v1 has no compression"))
		return true
	}
	if err := s.deliver(buf); err != nil {
		c.failStream(s, err)
	}
	return true
}

// failStream fails one stream because of something the server sent, and
// cancels it on the server.
func (c *conn) failStream(s *stream, err *Error) {
	if s.abandon(err) {
		go c.writeCancel(s.id)
	}
}

func (c *conn) onEnd(h frameHeader, payload []byte) bool {
	s, ok := c.streamFor(h)
	if s == nil {
		return ok
	}
	c.removeStream(h.StreamID)
	defer c.closeIfDrained()
	var st *modelgatev1.EndStatus
	if len(payload) > 0 {
		st = new(modelgatev1.EndStatus)
		if err := proto.Unmarshal(payload, st); err != nil {
			s.finish(nil, newLocalError(Internal, modelgatev1.ErrorKind_ERROR_KIND_INTERNAL, false, err,
				"undecodable END status: %v", err), false)
			return true
		}
	}
	var err *Error
	if st.GetCode() != modelgatev1.StatusCode_OK {
		err = errorFromEnd(st)
	}
	c.mu.Lock()
	refused := c.goingAway && h.StreamID > c.goAwayLastID && st.GetCode() == modelgatev1.StatusCode_UNAVAILABLE
	c.mu.Unlock()
	s.finish(st.GetTrailers(), err, refused)
	return true
}

// closeIfDrained closes a connection that received a graceful GOAWAY once its
// last stream has ended (the gateway would close it too).
func (c *conn) closeIfDrained() {
	c.mu.Lock()
	drained := c.goingAway && c.failErr == nil && len(c.streams) == 0
	c.mu.Unlock()
	if drained {
		c.fail(newLocalError(Unavailable, modelgatev1.ErrorKind_ERROR_KIND_SHUTTING_DOWN, true, nil,
			"the gateway at %s is draining", c.tgt.raw))
	}
}

func (c *conn) onWindow(h frameHeader, payload []byte) bool {
	if len(payload) != 4 {
		c.protocolError("WINDOW payload of %d bytes", len(payload))
		return false
	}
	if inc := binary.BigEndian.Uint32(payload); inc == 0 || inc > maxWindow {
		c.protocolError("WINDOW increment %d", inc)
		return false
	}
	// Each call sends its single request MESSAGE on the initial credit, so the
	// client never waits for credit and only checks the frame.
	_, ok := c.streamFor(h)
	return ok
}

func (c *conn) onHello(payload []byte) bool {
	var hello modelgatev1.Hello
	if err := proto.Unmarshal(payload, &hello); err != nil {
		c.protocolError("undecodable HELLO: %v", err)
		return false
	}
	if hello.GetVersion() != protocolVersion {
		c.protocolError("the gateway speaks protocol version %d, this client version %d", hello.GetVersion(), protocolVersion)
		return false
	}
	set := hello.GetSettings()
	c.peerMaxFrame = set.GetMaxFrameSize()
	if c.peerMaxFrame == 0 {
		c.peerMaxFrame = defaultMaxFrameSize
	}
	if n := set.GetMaxConcurrentStreams(); n != 0 {
		c.mu.Lock()
		c.maxStreams = int(n)
		c.mu.Unlock()
	}
	close(c.helloDone)
	return true
}

func (c *conn) onGoAway(payload []byte) bool {
	var ga modelgatev1.GoAway
	if err := proto.Unmarshal(payload, &ga); err != nil {
		c.protocolError("undecodable GOAWAY: %v", err)
		return false
	}
	c.mu.Lock()
	if !c.goingAway || ga.GetLastStreamId() < c.goAwayLastID {
		c.goAwayLastID = ga.GetLastStreamId()
	}
	c.goingAway = true
	c.mu.Unlock()
	if ga.GetCode() == modelgatev1.GoAwayCode_GOAWAY_NO_ERROR {
		// Graceful drain: streams up to last_stream_id finish, new calls use a
		// new connection, and this one closes after its last stream.
		c.closeIfDrained()
		return true
	}
	c.fail(goAwayError(&ga))
	return false
}

// goAwayError describes the end of a connection by GOAWAY.
func goAwayError(ga *modelgatev1.GoAway) *Error {
	kind := modelgatev1.ErrorKind_ERROR_KIND_INTERNAL
	retryable := false
	code := Unavailable
	switch ga.GetCode() {
	case modelgatev1.GoAwayCode_GOAWAY_NO_ERROR:
		kind, retryable = modelgatev1.ErrorKind_ERROR_KIND_SHUTTING_DOWN, true
	case modelgatev1.GoAwayCode_GOAWAY_CONNECTION_LIMIT:
		kind, retryable = modelgatev1.ErrorKind_ERROR_KIND_GATEWAY_LIMIT, true
	case modelgatev1.GoAwayCode_GOAWAY_TIMEOUT:
		retryable = true
	case modelgatev1.GoAwayCode_GOAWAY_ENHANCE_YOUR_CALM:
		code, kind = ResourceExhausted, modelgatev1.ErrorKind_ERROR_KIND_GATEWAY_LIMIT
	}
	msg := "the gateway closed the connection: " + ga.GetCode().String()
	if r := ga.GetReason(); r != "" {
		msg += ": " + r
	}
	return newLocalError(code, kind, retryable, nil, "%s", msg)
}
