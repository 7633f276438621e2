package modelgate

import (
	"context"
	"encoding/binary"
	"time"
)

// The read role.
//
// Exactly one goroutine reads from the socket at a time: the one holding the
// read role. Usually that is the connection's background reader (readLoop),
// which hands frames to the streams' consumers. Handing a frame to another
// goroutine costs a wake-up on the latency-critical path, so when a caller
// waits for a stream that is the connection's only active one (the common
// case of sequential calls), it takes the role and reads its answer itself,
// like a hand-written client on a raw socket. If the background reader holds
// the role, the caller queues for it and interrupts the background reader's
// blocked read with a past read deadline; the interruption happens while the
// request is travelling, off the critical path. A reader keeps a partially read
// frame in conn.fr, so an interruption loses nothing.
//
// While several streams are active, their consumers wait for the holder of the
// role (background reader or caller) to hand them their frames. After a call
// on an otherwise idle connection the role stays free for a moment, so that a
// sequence of calls needs no interruption at all.

// aLongTimeAgo is a read deadline in the past, which interrupts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// readLoop is the background reader.
func (c *conn) readLoop() {
	for c.takeRoleInBackground() {
		for {
			err := c.readOne()
			if err == errConnDone {
				c.releaseRole(nil)
				return
			}
			if err != nil { // interrupted
				c.nc.SetReadDeadline(time.Time{})
			}
			if c.roleWanted() {
				break
			}
		}
		c.releaseRole(nil)
	}
}

// takeRoleInBackground waits until the role is free and no caller wants it,
// then takes it. After a release on an idle connection (see releaseRole) it
// waits until the role has been free for idleReadDelay. It returns false once
// the connection has ended.
func (c *conn) takeRoleInBackground() bool {
	for {
		c.rmu.Lock()
		c.timerArmed = false
		if !c.roleHeld && len(c.roleQueue) == 0 {
			wait := time.Duration(0)
			if c.idleSince != 0 {
				wait = idleReadDelay - time.Duration(nanotime()-c.idleSince)
			}
			if wait <= 0 {
				c.roleHeld, c.leader, c.idleSince = true, nil, 0
				c.rmu.Unlock()
				return true
			}
			c.timerArmed = true
			c.bgTimer.Reset(wait)
		}
		c.rmu.Unlock()
		select {
		case <-c.bgWake:
		case <-c.done:
			return false
		}
	}
}

func (c *conn) roleWanted() bool {
	c.rmu.Lock()
	wanted := len(c.roleQueue) > 0
	c.rmu.Unlock()
	return wanted
}

// releaseRole gives the role to the first queued caller, else frees it. When
// other streams may be waiting for their frames, the background reader is
// woken at once. When the releasing caller's stream was the only active one,
// the role stays free for idleReadDelay, so that the next of a sequence of
// calls finds it free and reads its answer without interrupting anyone; a
// timer, armed at most once per idleReadDelay rather than per call, then
// brings the background reader back.
func (c *conn) releaseRole(s *stream) {
	idle := s != nil && !c.othersActive(s)
	c.rmu.Lock()
	c.leader = nil
	if len(c.roleQueue) > 0 {
		next := c.roleQueue[0]
		copy(c.roleQueue, c.roleQueue[1:])
		c.roleQueue[len(c.roleQueue)-1] = nil
		c.roleQueue = c.roleQueue[:len(c.roleQueue)-1]
		c.leader = next
		next.role <- struct{}{} // the role stays held: it passes to next
		c.rmu.Unlock()
		return
	}
	c.roleHeld = false
	if idle {
		c.idleSince = nanotime()
		arm := !c.timerArmed
		c.timerArmed = true
		if arm {
			c.bgTimer.Reset(idleReadDelay)
		}
		c.rmu.Unlock()
		return
	}
	c.idleSince = 0
	c.rmu.Unlock()
	c.wakeBackground()
}

// idleReadDelay is how long the read role stays free after a call on an
// otherwise idle connection before the background reader takes it again (to
// notice GOAWAY, PING or the connection closing while no call runs).
const idleReadDelay = time.Millisecond

// nanotime is a monotonic clock reading in nanoseconds.
func nanotime() int64 { return int64(time.Since(clockBase)) }

var clockBase = time.Now()

func (c *conn) wakeBackground() {
	select {
	case c.bgWake <- struct{}{}:
	default:
	}
}

// othersActive reports whether a stream other than s is active.
func (c *conn) othersActive(s *stream) bool {
	c.mu.Lock()
	n := len(c.streams)
	if c.streams[s.id] == s {
		n--
	}
	c.mu.Unlock()
	return n > 0
}

// interrupt makes a blocked read return with a timeout error.
func (c *conn) interrupt() { c.nc.SetReadDeadline(aLongTimeAgo) }

type claim int

const (
	roleTaken  claim = iota // the caller holds the role
	roleQueued              // the caller waits for the background reader to yield
	roleBusy                // another caller reads; wait for it to hand over frames
)

// claimRole tries to take the role for s's consumer: it takes a free role,
// and queues for it (interrupting the background reader) when the background
// reader holds it and s is the only active stream.
func (c *conn) claimRole(s *stream) claim {
	sole := c.soleStream(s)
	c.rmu.Lock()
	if !c.roleHeld {
		c.roleHeld, c.leader = true, s
		c.rmu.Unlock()
		return roleTaken
	}
	if c.leader != nil || !sole {
		c.rmu.Unlock()
		return roleBusy
	}
	if s.role == nil {
		s.role = make(chan struct{}, 1)
	}
	c.roleQueue = append(c.roleQueue, s)
	c.rmu.Unlock()
	c.interrupt()
	return roleQueued
}

// leaveRoleQueue withdraws s from the queue; if the role was handed to s
// meanwhile, s passes it on.
func (c *conn) leaveRoleQueue(s *stream) {
	c.rmu.Lock()
	for i, q := range c.roleQueue {
		if q == s {
			c.roleQueue = append(c.roleQueue[:i], c.roleQueue[i+1:]...)
			c.rmu.Unlock()
			return
		}
	}
	c.rmu.Unlock()
	<-s.role
	c.releaseRole(s)
}

// interruptLeader interrupts the read of s's consumer if it holds the role,
// so that it notices s has ended.
func (c *conn) interruptLeader(s *stream) {
	c.rmu.Lock()
	leading := c.leader == s
	c.rmu.Unlock()
	if leading {
		c.interrupt()
	}
}

// soleStream reports whether s is the connection's only active stream.
func (c *conn) soleStream(s *stream) bool {
	c.mu.Lock()
	sole := len(c.streams) == 1 && c.streams[s.id] == s
	c.mu.Unlock()
	return sole
}

// lead reads frames, as holder of the role, until s is ready or ctx ends. A
// stream with a context watcher (ChatStream) is interrupted through
// interruptLeader when it is cancelled; for the others a watcher lives as long
// as the read.
func (c *conn) lead(ctx context.Context, s *stream) error {
	if done := ctx.Done(); done != nil && !s.watched {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-done:
				c.interrupt()
			case <-stop:
			}
		}()
	}
	for !s.ready() {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := c.readOne()
		if err == errConnDone {
			<-s.done // the connection is failing its streams, s included
			return nil
		}
		if err != nil { // interrupted: by ctx, by s's cancellation, or meant for the background reader
			c.nc.SetReadDeadline(time.Time{})
		}
	}
	// Dispatch the frames already buffered (no syscall), so that the next
	// Recv of a stream often finds its chunk queued instead of taking the role.
	for i := 0; i < maxBufferedDispatch && c.frameBuffered(); i++ {
		if c.readOne() != nil {
			break
		}
	}
	return nil
}

// maxBufferedDispatch bounds the frames a leader dispatches after its own.
const maxBufferedDispatch = 64

// frameBuffered reports whether the rest of the next frame is already in the
// read buffer, so reading it cannot block.
func (c *conn) frameBuffered() bool {
	fr := &c.fr
	n := c.br.Buffered()
	if fr.inFrame {
		return n >= len(fr.payload)-fr.payN
	}
	if fr.hdrN != 0 || n < frameHeaderLen {
		return false
	}
	hdr, err := c.br.Peek(frameHeaderLen)
	if err != nil {
		return false
	}
	return uint64(n) >= uint64(frameHeaderLen)+uint64(binary.BigEndian.Uint32(hdr))
}

// await waits until s is ready for its consumer or ctx ends (it then returns
// ctx.Err()). The consumer reads frames itself when the read role is free, or
// held by the background reader while s is the only active stream.
func (s *stream) await(ctx context.Context) error {
	c := s.c
	for !s.ready() {
		switch c.claimRole(s) {
		case roleTaken:
			err := c.lead(ctx, s)
			c.releaseRole(s)
			return err
		case roleQueued:
			select {
			case <-s.role:
				err := c.lead(ctx, s)
				c.releaseRole(s)
				return err
			case <-s.wake():
				c.leaveRoleQueue(s)
			case <-ctx.Done():
				c.leaveRoleQueue(s)
				return ctx.Err()
			}
		case roleBusy:
			select {
			case <-s.wake():
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}
