package modelgate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
	"google.golang.org/protobuf/proto"
)

// writerConn is a net.Conn that only records writes.
type writerConn struct{ w *bytes.Buffer }

func (c writerConn) Read([]byte) (int, error)         { return 0, errors.New("not readable") }
func (c writerConn) Write(b []byte) (int, error)      { return c.w.Write(b) }
func (c writerConn) Close() error                     { return nil }
func (c writerConn) LocalAddr() net.Addr              { return nil }
func (c writerConn) RemoteAddr() net.Addr             { return nil }
func (c writerConn) SetDeadline(time.Time) error      { return nil }
func (c writerConn) SetReadDeadline(time.Time) error  { return nil }
func (c writerConn) SetWriteDeadline(time.Time) error { return nil }

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ in, network, addr string }{
		{"unix:///tmp/modelgate.sock", "unix", "/tmp/modelgate.sock"},
		{"unix:/var/run/mg.sock", "unix", "/var/run/mg.sock"},
		{"unix:run/mg.sock", "unix", "run/mg.sock"},
		{"tcp://127.0.0.1:7470", "tcp", "127.0.0.1:7470"},
		{"tcp://[::1]:7470", "tcp", "[::1]:7470"},
		{"tcp://localhost:1/", "tcp", "localhost:1"},
	} {
		got, err := parseAddress(tc.in)
		if err != nil || got.network != tc.network || got.addr != tc.addr {
			t.Errorf("parseAddress(%q) = %+v, %v; want %s %s", tc.in, got, err, tc.network, tc.addr)
		}
	}
	for _, bad := range []string{"", "/tmp/x.sock", "unix://relative", "unix:", "tcp://nohost", "tcp://:80", "http://x:1", "127.0.0.1:7470"} {
		if _, err := parseAddress(bad); CodeOf(err) != InvalidArgument {
			t.Errorf("parseAddress(%q) error %v, want InvalidArgument", bad, err)
		}
	}
}

func TestResolveAddress(t *testing.T) {
	old, had := os.LookupEnv(AddressEnv)
	defer func() {
		if had {
			os.Setenv(AddressEnv, old)
		} else {
			os.Unsetenv(AddressEnv)
		}
	}()
	os.Unsetenv(AddressEnv)
	if got := resolveAddress(""); got != DefaultAddress {
		t.Errorf("default address %q", got)
	}
	os.Setenv(AddressEnv, "tcp://127.0.0.1:9")
	if got := resolveAddress(""); got != "tcp://127.0.0.1:9" {
		t.Errorf("env address %q", got)
	}
	if got := resolveAddress("unix:/x"); got != "unix:/x" {
		t.Errorf("explicit address %q", got)
	}
}

func TestFrameHeaderRoundTrip(t *testing.T) {
	h := frameHeader{Length: 0x01020304, Type: frameMessage, Flags: flagEndStream, StreamID: 0x7fffffff}
	var b [frameHeaderLen]byte
	putFrameHeader(b[:], h)
	if want := []byte{1, 2, 3, 4, 3, 1, 0x7f, 0xff, 0xff, 0xff}; !bytes.Equal(b[:], want) {
		t.Fatalf("encoded %x want %x", b, want)
	}
	if got := parseFrameHeader(b[:]); got != h {
		t.Fatalf("decoded %+v want %+v", got, h)
	}
	if frameType(0x42).String() != "0x42" || frameEnd.String() != "END" {
		t.Fatal("frame type names")
	}
}

func TestCallHeaderEncodingMatchesProto(t *testing.T) {
	md := map[string]string{"mock-tokens": "256", "tenant": "acme", "a": "", "z.z_z-9": "x y"}
	got := appendCallHeader(nil, MethodChatStream, 1234567, md, "req-9")
	var h modelgatev1.CallHeader
	if err := proto.Unmarshal(got, &h); err != nil {
		t.Fatal(err)
	}
	want := &modelgatev1.CallHeader{Method: MethodChatStream, TimeoutMicros: 1234567, Metadata: md, RequestId: "req-9"}
	if !proto.Equal(&h, want) {
		t.Fatalf("decoded %v want %v", &h, want)
	}
	if minimal := appendCallHeader(nil, MethodHealth, 0, nil, ""); len(minimal) != 2+len(MethodHealth) {
		t.Fatalf("minimal CallHeader is %d bytes", len(minimal))
	}
}

func TestCodes(t *testing.T) {
	if ResourceExhausted.String() != "RESOURCE_EXHAUSTED" || Code(99).String() != "CODE(99)" {
		t.Fatal("code names")
	}
	for c := OK; c <= Unauthenticated; c++ {
		if got, ok := ParseCode(c.String()); !ok || got != c {
			t.Errorf("ParseCode(%s) = %v %v", c, got, ok)
		}
		if int32(c) != int32(modelgatev1.StatusCode(c)) || c.String() != modelgatev1.StatusCode(c).String() {
			t.Errorf("code %d differs from modelgatev1.StatusCode", c)
		}
	}
}

func TestErrorValues(t *testing.T) {
	st := &modelgatev1.EndStatus{
		Code:    modelgatev1.StatusCode_RESOURCE_EXHAUSTED,
		Message: "upstream rate limited",
		Error: &modelgatev1.ErrorDetail{Kind: modelgatev1.ErrorKind_ERROR_KIND_RATE_LIMITED, Retryable: true,
			RetryAfterMs: 2000, Provider: "openai", UpstreamStatus: 429, RequestId: "req-3"},
	}
	var err error = fmt.Errorf("wrapped: %w", errorFromEnd(st))
	var e *Error
	if !errors.As(err, &e) || e.Code != ResourceExhausted || !e.Retryable() || e.RetryAfter() != 2*time.Second ||
		e.Kind() != modelgatev1.ErrorKind_ERROR_KIND_RATE_LIMITED || e.RequestID() != "req-3" || e.Local {
		t.Fatalf("errors.As: %#v", e)
	}
	if CodeOf(err) != ResourceExhausted || !IsRetryable(err) {
		t.Fatal("CodeOf / IsRetryable")
	}
	want := "modelgate: RESOURCE_EXHAUSTED: upstream rate limited (kind=RATE_LIMITED, provider=openai, upstream_status=429, retryable, retry_after=2s, request_id=req-3)"
	if e.Error() != want {
		t.Fatalf("Error() = %q\nwant     %q", e.Error(), want)
	}
	if CodeOf(nil) != OK || CodeOf(errors.New("x")) != Unknown || CodeOf(context.Canceled) != Canceled {
		t.Fatal("CodeOf of plain errors")
	}
	ce := contextError(context.DeadlineExceeded)
	if ce.Code != DeadlineExceeded || !errors.Is(ce, context.DeadlineExceeded) || !ce.Local || ce.Details == nil {
		t.Fatalf("contextError: %#v", ce)
	}
	if empty := errorFromEnd(&modelgatev1.EndStatus{Code: modelgatev1.StatusCode_INTERNAL}); empty.Details == nil {
		t.Fatal("Details must never be nil")
	}
}

func TestEncodeRequest(t *testing.T) {
	buf, err := encodeRequest((*modelgatev1.ListModelsRequest)(nil))
	if err != nil {
		t.Fatal(err)
	}
	if h := parseFrameHeader(buf.b); h.Length != 0 || h.Type != frameMessage || h.Flags != flagEndStream || len(buf.b) != frameHeaderLen {
		t.Fatalf("empty request frame %x", buf.b)
	}
	putBuffer(buf)
	req := &modelgatev1.ChatRequest{Model: "mock"}
	buf, err = encodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var back modelgatev1.ChatRequest
	if err := proto.Unmarshal(buf.b[frameHeaderLen:], &back); err != nil || !proto.Equal(&back, req) {
		t.Fatalf("round trip %v %v", &back, err)
	}
}

func TestDialNothingListening(t *testing.T) {
	dir := t.TempDir()
	_, err := Dial(context.Background(), "unix://"+dir+"/none.sock")
	var e *Error
	if !errors.As(err, &e) || e.Code != Unavailable || !e.Retryable() {
		t.Fatalf("Dial error %v, want Unavailable", err)
	}
	// A TCP port nobody listens on: bind one, then close it.
	l, lerr := net.Listen("tcp", "127.0.0.1:0")
	if lerr != nil {
		t.Fatal(lerr)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := Dial(context.Background(), "tcp://"+addr); CodeOf(err) != Unavailable {
		t.Fatalf("Dial tcp error %v, want Unavailable", err)
	}
	// A lazy client reports the same on its first call.
	cl, err := NewClient("unix://" + dir + "/none.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Health(context.Background(), nil); CodeOf(err) != Unavailable {
		t.Fatalf("Health error %v, want Unavailable", err)
	}
}
