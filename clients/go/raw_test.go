package modelgate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
	"google.golang.org/protobuf/proto"
)

// rawConn is a hand-driven protocol connection for sending exact bytes.
type rawConn struct {
	t  *testing.T
	nc net.Conn
}

// dialRaw connects to the shared gateway's Unix socket; with preface it also
// sends the magic and a HELLO and reads the server's HELLO.
func dialRaw(t *testing.T, preface bool) *rawConn {
	t.Helper()
	g := requireGateway(t)
	tgt, err := parseAddress(g.unixAddr)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial(tgt.network, tgt.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second)) // a hang fails the test instead of blocking it
	rc := &rawConn{t: t, nc: nc}
	if preface {
		hello, _ := proto.Marshal(&modelgatev1.Hello{Version: 1, Agent: "raw-test/1"})
		b := append([]byte(nil), magic[:]...)
		b = appendFrameHeader(b, frameHeader{Length: uint32(len(hello)), Type: frameHello})
		rc.write(append(b, hello...))
		f := rc.read()
		if f.Type != frameHello {
			t.Fatalf("first server frame %s, want HELLO", f.describe())
		}
	}
	return rc
}

func (rc *rawConn) write(b []byte) {
	rc.t.Helper()
	if _, err := rc.nc.Write(b); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) writeFrame(t frameType, flags uint8, id uint32, payload []byte) {
	rc.t.Helper()
	b := appendFrameHeader(nil, frameHeader{Length: uint32(len(payload)), Type: t, Flags: flags, StreamID: id})
	rc.write(append(b, payload...))
}

func (rc *rawConn) read() rawFrame {
	rc.t.Helper()
	f, err := rc.readErr()
	if err != nil {
		rc.t.Fatalf("reading a frame: %v", err)
	}
	return f
}

func (rc *rawConn) readErr() (rawFrame, error) {
	return readRawFrame(rc.nc, defaultMaxFrameSize)
}

// readUntil reads frames until one of type ft arrives.
func (rc *rawConn) readUntil(ft frameType) rawFrame {
	rc.t.Helper()
	for {
		f := rc.read()
		if f.Type == ft {
			return f
		}
		if f.Type == frameGoAway && ft != frameGoAway {
			var ga modelgatev1.GoAway
			proto.Unmarshal(f.payload, &ga)
			rc.t.Fatalf("GOAWAY %v while waiting for %s", &ga, ft)
		}
	}
}

func endStatus(t *testing.T, f rawFrame) *modelgatev1.EndStatus {
	t.Helper()
	var st modelgatev1.EndStatus
	if err := proto.Unmarshal(f.payload, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

// TestRawVectors sends every malformed-input vector as raw bytes and checks
// the gateway's answer against its `# expect:` header.
func TestRawVectors(t *testing.T) {
	requireGateway(t)
	n := 0
	for _, v := range loadVectors(t) {
		v := v
		expect := v.headers["expect"]
		if expect == "" || v.headers["direction"] != "client-to-server" {
			continue
		}
		n++
		t.Run(v.name, func(t *testing.T) {
			rc := dialRaw(t, !v.preface())
			rc.write(v.data)
			kind, want, _ := strings.Cut(expect, " ")
			switch kind {
			case "goaway":
				f := rc.readUntil(frameGoAway)
				var ga modelgatev1.GoAway
				if err := proto.Unmarshal(f.payload, &ga); err != nil {
					t.Fatal(err)
				}
				if ga.GetCode().String() != want {
					t.Fatalf("GOAWAY %v, want %s", &ga, want)
				}
				expectClose(t, rc)
			case "end":
				f := rc.readUntil(frameEnd)
				if st := endStatus(t, f); st.GetCode().String() != want {
					t.Fatalf("END %v, want %s", st, want)
				}
			case "close":
				if uc, ok := rc.nc.(*net.UnixConn); ok {
					uc.CloseWrite()
				}
				expectClose(t, rc)
			default:
				t.Fatalf("unknown expectation %q", expect)
			}
		})
	}
	if n == 0 {
		t.Fatal("no malformed-input vectors found")
	}
}

// expectClose requires the gateway to close the connection, sending nothing
// but possibly stream frames first.
func expectClose(t *testing.T, rc *rawConn) {
	t.Helper()
	for {
		f, err := rc.readErr()
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isConnReset(err) {
			return
		}
		if err != nil {
			t.Fatalf("waiting for the gateway to close: %v", err)
		}
		if f.Type == frameGoAway || f.Type == frameHello {
			t.Fatalf("unexpected %s before close", f.describe())
		}
	}
}

func isConnReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// TestRawPing sends the ping vector and expects the pong vector.
func TestRawPing(t *testing.T) {
	var ping, pong vector
	for _, v := range loadVectors(t) {
		switch v.name {
		case "ping":
			ping = v
		case "pong":
			pong = v
		}
	}
	rc := dialRaw(t, true)
	rc.write(ping.data)
	f := rc.readUntil(framePong)
	got := appendFrameHeader(nil, f.frameHeader)
	if got = append(got, f.payload...); !bytes.Equal(got, pong.data) {
		t.Fatalf("PONG %x, want %x", got, pong.data)
	}
}

// TestRawServerDeadline checks that the gateway itself enforces
// timeout_micros: a raw client that does not enforce it gets
// END DEADLINE_EXCEEDED.
func TestRawServerDeadline(t *testing.T) {
	rc := dialRaw(t, true)
	call := appendCallHeader(nil, MethodChat, 200000, map[string]string{"mock-first-token-ms": "60000"}, "raw-deadline")
	rc.writeFrame(frameCall, 0, 1, call)
	req, _ := proto.Marshal(userRequest("mock", "x"))
	rc.writeFrame(frameMessage, flagEndStream, 1, req)
	f := rc.readUntil(frameEnd)
	if st := endStatus(t, f); st.GetCode() != modelgatev1.StatusCode_DEADLINE_EXCEEDED {
		t.Fatalf("END %v, want DEADLINE_EXCEEDED", st)
	}
}

// TestRawFlowControl opens a stream with a 1 KiB window and grants nothing:
// the gateway must stop once the credit is spent. A following PING is
// answered, which shows the connection is alive and the gateway has had time
// to send whatever it was going to.
func TestRawFlowControl(t *testing.T) {
	rc := dialRawWindow(t, 1024)
	call := appendCallHeader(nil, MethodChatStream, 0, map[string]string{"mock-tokens": "5000"}, "raw-flow")
	rc.writeFrame(frameCall, 0, 1, call)
	req, _ := proto.Marshal(userRequest("mock", "x"))
	rc.writeFrame(frameMessage, flagEndStream, 1, req)
	credit := int64(1024)
	received := 0
	for credit > 0 {
		f := rc.read()
		if f.Type == frameMessage && f.StreamID == 1 {
			credit -= int64(len(f.payload))
			received++
		}
		if f.Type == frameEnd {
			t.Fatalf("stream ended early: %v", endStatus(t, f))
		}
	}
	// Credit is spent. Ping several times; no MESSAGE may arrive meanwhile.
	for i := 0; i < 5; i++ {
		time.Sleep(20 * time.Millisecond)
		var p [8]byte
		binary.BigEndian.PutUint64(p[:], uint64(i))
		rc.writeFrame(framePing, 0, 0, p[:])
		for {
			f := rc.read()
			if f.Type == frameMessage {
				t.Fatalf("MESSAGE on stream %d after the credit was spent (%d messages, credit %d)", f.StreamID, received, credit)
			}
			if f.Type == framePong && bytes.Equal(f.payload, p[:]) {
				break
			}
		}
	}
	// Granting credit resumes the stream; then cancel it.
	var inc [4]byte
	binary.BigEndian.PutUint32(inc[:], 4096)
	rc.writeFrame(frameWindow, 0, 1, inc[:])
	if f := rc.readUntil(frameMessage); f.StreamID != 1 {
		t.Fatalf("MESSAGE on stream %d", f.StreamID)
	}
	rc.writeFrame(frameCancel, 0, 1, nil)
	var last *modelgatev1.ChatChunk
	for {
		f := rc.read()
		if f.Type == frameMessage {
			last = new(modelgatev1.ChatChunk)
			proto.Unmarshal(f.payload, last)
			continue
		}
		if f.Type == frameEnd {
			if st := endStatus(t, f); st.GetCode() != modelgatev1.StatusCode_CANCELLED {
				t.Fatalf("END after CANCEL: %v", st)
			}
			break
		}
	}
	if last == nil || !last.GetFinal() {
		t.Fatalf("the last chunk before END(CANCELLED) is %v, want the final chunk", last)
	}
}

// dialRawWindow is dialRaw with a given initial window in the client HELLO.
func dialRawWindow(t *testing.T, window uint32) *rawConn {
	t.Helper()
	rc := dialRaw(t, false)
	hello, _ := proto.Marshal(&modelgatev1.Hello{Version: 1, Agent: "raw-test/1",
		Settings: &modelgatev1.Settings{InitialWindowSize: window}})
	b := append([]byte(nil), magic[:]...)
	b = appendFrameHeader(b, frameHeader{Length: uint32(len(hello)), Type: frameHello})
	rc.write(append(b, hello...))
	if f := rc.read(); f.Type != frameHello {
		t.Fatalf("first server frame %s, want HELLO", f.describe())
	}
	return rc
}
