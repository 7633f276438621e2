package modelgate

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
	"google.golang.org/protobuf/proto"
)

// conn is one connection to the gateway. Many streams share it: callers write
// frames through a mutex-protected bufio.Writer (the last writer in a burst
// flushes, so concurrent calls share syscalls), and the holder of the read role
// (readrole.go: the background reader, or a caller reading its own answer)
// reads every frame and hands it to its stream without ever blocking on a
// consumer.
type conn struct {
	nc   net.Conn
	opts *clientOptions
	tgt  target

	// Write side. Writers increment writers before taking wmu; the writer that
	// brings it back to zero flushes.
	wmu     sync.Mutex
	bw      *bufio.Writer
	writers int32
	werr    error  // sticky write error; guarded by wmu
	lastID  uint32 // last stream id sent; guarded by wmu
	openIDs uint32 // atomic copy of lastID, read by the reader

	// Set by the reader from the server's HELLO before helloDone is closed.
	helloDone    chan struct{}
	peerMaxFrame uint32

	mu           sync.Mutex
	streams      map[uint32]*stream
	active       int           // streams counted against maxStreams
	maxStreams   int           // the server's max_concurrent_streams
	slotFreed    chan struct{} // closed and replaced when a slot frees while callers wait
	slotWaiters  int           // callers waiting for a slot
	goingAway    bool          // GOAWAY received: open no new streams here
	goAwayLastID uint32
	failErr      *Error        // why the connection ended; nil while alive
	done         chan struct{} // closed when the connection ended

	// The read role (readrole.go): who reads from the socket.
	br         *bufio.Reader // used by the holder of the read role only
	fr         frameReader   // likewise
	rmu        sync.Mutex
	roleHeld   bool
	leader     *stream       // the stream whose consumer holds the role; nil for the background reader
	roleQueue  []*stream     // consumers waiting for the background reader to yield
	bgWake     chan struct{} // capacity 1: the role may be free for the background reader
	bgTimer    *time.Timer   // wakes the background reader after idleReadDelay
	timerArmed bool          // bgTimer is pending
	idleSince  int64         // nanotime of the last release on an idle connection; 0 if none pending
}

// dialConn connects, sends the preface and waits for the server's HELLO.
func dialConn(ctx context.Context, tgt target, opts *clientOptions) (*conn, error) {
	dial := opts.dialer
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	nc, err := dial(ctx, tgt.network, tgt.addr)
	if err != nil {
		if ctx.Err() != nil && !isNetTimeout(err) {
			return nil, contextError(ctx.Err())
		}
		return nil, newLocalError(Unavailable, 0, true, err,
			"cannot connect to the gateway at %s: %v (is modelgate running? the address comes from the Dial argument, else $%s, else %s)",
			tgt.raw, unwrapOpError(err), AddressEnv, DefaultAddress)
	}
	c := &conn{
		nc:         nc,
		opts:       opts,
		tgt:        tgt,
		bw:         bufio.NewWriterSize(nc, opts.writeBufSize),
		br:         bufio.NewReaderSize(nc, opts.readBufSize),
		helloDone:  make(chan struct{}),
		streams:    make(map[uint32]*stream),
		maxStreams: defaultMaxConcurrentStreams,
		slotFreed:  make(chan struct{}),
		done:       make(chan struct{}),
		bgWake:     make(chan struct{}, 1),
	}
	c.bgTimer = time.AfterFunc(time.Hour, c.wakeBackground)
	c.bgTimer.Stop()
	if err := c.writePreface(); err != nil {
		nc.Close()
		return nil, newLocalError(Unavailable, 0, true, err, "sending the preface to %s: %v", tgt.raw, err)
	}
	go c.readLoop()
	select {
	case <-c.helloDone:
		return c, nil
	case <-c.done:
		return nil, c.failErr
	case <-ctx.Done():
		c.fail(contextError(ctx.Err()))
		return nil, contextError(ctx.Err())
	}
}

func (c *conn) writePreface() error {
	hello := &modelgatev1.Hello{
		Version: protocolVersion,
		Agent:   c.opts.agent,
		Settings: &modelgatev1.Settings{
			MaxFrameSize:      c.opts.maxRecvFrame,
			InitialWindowSize: c.opts.window,
		},
	}
	payload, err := proto.Marshal(hello)
	if err != nil {
		return err
	}
	if len(payload) > maxClientHelloSize {
		return fmt.Errorf("HELLO of %d bytes exceeds %d (agent string too long?)", len(payload), maxClientHelloSize)
	}
	b := make([]byte, 0, len(magic)+frameHeaderLen+len(payload))
	b = append(b, magic[:]...)
	b = appendFrameHeader(b, frameHeader{Length: uint32(len(payload)), Type: frameHello})
	b = append(b, payload...)
	_, err = c.nc.Write(b)
	return err
}

// usable reports whether new streams may be opened on c.
func (c *conn) usable() bool {
	c.mu.Lock()
	ok := c.failErr == nil && !c.goingAway
	c.mu.Unlock()
	return ok
}

// fail ends the connection once: it closes the socket and fails every stream
// that has not received its END.
func (c *conn) fail(err *Error) {
	c.mu.Lock()
	if c.failErr != nil {
		c.mu.Unlock()
		return
	}
	c.failErr = err
	streams := c.streams
	c.streams = nil
	c.active = 0
	goingAway, lastID := c.goingAway, c.goAwayLastID
	close(c.done)
	close(c.slotFreed)
	c.mu.Unlock()
	c.bgTimer.Stop()
	c.nc.Close()
	for id, s := range streams {
		s.finish(nil, err, goingAway && id > lastID)
	}
}

// acquireSlot waits until the stream may be opened within the server's
// max_concurrent_streams. It returns errConnUnusable when the connection can
// take no new streams.
func (c *conn) acquireSlot(ctx context.Context) error {
	for {
		c.mu.Lock()
		if c.failErr != nil || c.goingAway {
			c.mu.Unlock()
			return errConnUnusable
		}
		if c.active < c.maxStreams {
			c.active++
			c.mu.Unlock()
			return nil
		}
		wait := c.slotFreed
		c.slotWaiters++
		c.mu.Unlock()
		var err error
		select {
		case <-wait:
		case <-ctx.Done():
			err = contextError(ctx.Err())
		}
		c.mu.Lock()
		c.slotWaiters--
		c.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// releaseSlotLocked frees a stream slot. c.mu must be held.
func (c *conn) releaseSlotLocked() {
	if c.failErr != nil {
		return // fail reset the accounting and woke every waiter
	}
	c.active--
	if c.slotWaiters > 0 {
		close(c.slotFreed)
		c.slotFreed = make(chan struct{})
	}
}

// errConnUnusable reports that a stream could not be opened because the
// connection is draining or broken; the call was not sent and may be retried
// on a new connection.
var errConnUnusable = errors.New("modelgate: connection unusable")

// openStream opens a stream: it sends CALL and msg, the request MESSAGE frame
// (END_STREAM) with a zero stream id that openStream fills in. The id is chosen
// under the write lock so that ids reach the wire in increasing order. It
// returns errConnUnusable when the call was not sent because the connection
// is draining or broken.
func (c *conn) openStream(ctx context.Context, method string, co *callOptions, msg []byte, unary bool) (*stream, error) {
	if err := c.acquireSlot(ctx); err != nil {
		return nil, err
	}
	timeout, err := timeoutMicros(ctx)
	if err != nil {
		c.mu.Lock()
		c.releaseSlotLocked()
		c.mu.Unlock()
		return nil, err
	}
	call := getBuffer(frameHeaderLen)
	defer putBuffer(call)
	call.b = appendCallHeader(call.b, method, timeout, co.md, co.requestID)
	putFrameHeader(call.b, frameHeader{Length: uint32(len(call.b) - frameHeaderLen), Type: frameCall})

	s := newStream(c, unary)
	atomic.AddInt32(&c.writers, 1)
	c.wmu.Lock()
	c.mu.Lock()
	if c.lastID >= maxWindow { // stream ids are exhausted: later calls use a new connection
		c.goingAway = true
	}
	if c.failErr != nil || c.goingAway {
		c.releaseSlotLocked()
		c.mu.Unlock()
		c.endWrite()
		return nil, errConnUnusable
	}
	c.lastID++
	s.id = c.lastID
	c.streams[s.id] = s
	c.mu.Unlock()
	atomic.StoreUint32(&c.openIDs, s.id)
	binary.BigEndian.PutUint32(call.b[6:10], s.id)
	binary.BigEndian.PutUint32(msg[6:10], s.id)
	if c.werr == nil {
		if _, err := c.bw.Write(call.b); err != nil {
			c.werr = err
		} else if _, err := c.bw.Write(msg); err != nil {
			c.werr = err
		}
	}
	if err := c.endWrite(); err != nil {
		return nil, errConnUnusable
	}
	return s, nil
}

// writeFrame sends one frame; errors end the connection.
func (c *conn) writeFrame(t frameType, flags uint8, id uint32, payload []byte) error {
	var hdr [frameHeaderLen]byte
	putFrameHeader(hdr[:], frameHeader{Length: uint32(len(payload)), Type: t, Flags: flags, StreamID: id})
	atomic.AddInt32(&c.writers, 1)
	c.wmu.Lock()
	if c.werr == nil {
		if _, err := c.bw.Write(hdr[:]); err != nil {
			c.werr = err
		} else if _, err := c.bw.Write(payload); err != nil {
			c.werr = err
		}
	}
	return c.endWrite()
}

// writeWindow grants the server n more bytes of credit on stream id.
func (c *conn) writeWindow(id, n uint32) {
	var p [4]byte
	binary.BigEndian.PutUint32(p[:], n)
	c.writeFrame(frameWindow, 0, id, p[:])
}

// writeCancel sends CANCEL for stream id.
func (c *conn) writeCancel(id uint32) { c.writeFrame(frameCancel, 0, id, nil) }

// endWrite finishes a write started by incrementing writers and locking wmu:
// the last writer of a burst flushes. It unlocks wmu and returns the sticky
// write error, ending the connection on the first one.
func (c *conn) endWrite() error {
	last := atomic.AddInt32(&c.writers, -1) == 0
	if last && c.werr == nil && c.bw.Buffered() > 0 {
		if err := c.bw.Flush(); err != nil {
			c.werr = err
		}
	}
	err := c.werr
	c.wmu.Unlock()
	if err != nil {
		c.fail(c.lostError(err))
	}
	return err
}

// lostError describes the connection breaking.
func (c *conn) lostError(err error) *Error {
	return newLocalError(Unavailable, 0, true, err, "connection to the gateway at %s lost: %v", c.tgt.raw, unwrapOpError(err))
}

// protocolError ends the connection because the server broke the protocol.
func (c *conn) protocolError(format string, args ...interface{}) {
	c.fail(newLocalError(Internal, modelgatev1.ErrorKind_ERROR_KIND_INTERNAL, false, nil,
		"protocol error from the gateway at %s: %s", c.tgt.raw, fmt.Sprintf(format, args...)))
}

// removeStream forgets stream id and frees its slot; it returns the stream, or
// nil if it is unknown.
func (c *conn) removeStream(id uint32) *stream {
	c.mu.Lock()
	s := c.streams[id]
	if s != nil {
		delete(c.streams, id)
		c.releaseSlotLocked()
	}
	c.mu.Unlock()
	return s
}

func (c *conn) lookup(id uint32) *stream {
	c.mu.Lock()
	s := c.streams[id]
	c.mu.Unlock()
	return s
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// unwrapOpError drops the *net.OpError wrapping, whose text repeats the address.
func unwrapOpError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	if errors.Is(err, io.EOF) {
		return errors.New("connection closed by the gateway")
	}
	return err
}
