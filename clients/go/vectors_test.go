package modelgate

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// vector is one file of docs/protocol-vectors (format in docs/protocol.md §8).
type vector struct {
	name    string
	headers map[string]string
	data    []byte
}

func (v vector) preface() bool { return v.headers["preface"] == "yes" }

func vectorsDir() string {
	if d := os.Getenv("MODELGATE_VECTORS_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "docs", "protocol-vectors")
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(vectorsDir(), "*.hex"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no protocol vectors in %s (err %v)", vectorsDir(), err)
	}
	sort.Strings(files)
	var out []vector
	for _, f := range files {
		v, err := parseVector(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, v)
	}
	return out
}

func parseVector(path string) (vector, error) {
	f, err := os.Open(path)
	if err != nil {
		return vector{}, err
	}
	defer f.Close()
	v := vector{name: strings.TrimSuffix(filepath.Base(path), ".hex"), headers: map[string]string{}}
	var hexText strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			body := strings.TrimSpace(strings.TrimPrefix(line, "#"))
			if k, val, ok := strings.Cut(body, ": "); ok && !strings.Contains(k, " ") {
				v.headers[k] = val
			}
			continue
		}
		hexText.WriteString(strings.Join(strings.Fields(line), ""))
	}
	if err := sc.Err(); err != nil {
		return vector{}, err
	}
	v.data, err = hex.DecodeString(hexText.String())
	return v, err
}

// rawFrame is a decoded frame of a vector or of a raw connection.
type rawFrame struct {
	frameHeader
	payload []byte
}

// describe formats a frame like the vectors' `# frames:` header.
func (f rawFrame) describe() string {
	parts := []string{fmt.Sprint(f.StreamID)}
	if f.Type == frameMessage && f.Flags&flagEndStream != 0 {
		parts = append(parts, "END_STREAM")
	}
	if f.Type == frameMessage && f.Flags&flagCompressed != 0 {
		parts = append(parts, "COMPRESSED")
	}
	return fmt.Sprintf("%s(%s)", f.Type, strings.Join(parts, ","))
}

var errFrameTooLarge = errors.New("frame exceeds max_frame_size")

// readRawFrame reads one frame, checking the length against max before reading the payload.
func readRawFrame(r io.Reader, max uint32) (rawFrame, error) {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return rawFrame{}, err
	}
	f := rawFrame{frameHeader: parseFrameHeader(hdr[:])}
	if f.Length > max {
		return f, errFrameTooLarge
	}
	f.payload = make([]byte, f.Length)
	if _, err := io.ReadFull(r, f.payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return f, err
	}
	return f, nil
}

// decodeVector splits a vector's bytes into magic (if it has a preface) and frames.
func decodeVector(v vector) (frames []rawFrame, err error) {
	r := bytes.NewReader(v.data)
	if v.preface() {
		var m [8]byte
		if _, err := io.ReadFull(r, m[:]); err != nil {
			return nil, err
		}
		if m != magic {
			return nil, errBadMagic
		}
	}
	for i := 0; r.Len() > 0; i++ {
		max := uint32(defaultMaxFrameSize)
		if v.preface() && i == 0 {
			max = maxClientHelloSize
		}
		f, err := readRawFrame(r, max)
		if err != nil {
			return frames, err
		}
		frames = append(frames, f)
	}
	return frames, nil
}

var errBadMagic = errors.New("bad magic")

func messageType(t *testing.T, name string) protoreflect.MessageType {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
	if err != nil {
		t.Fatalf("message type %s: %v", name, err)
	}
	return mt
}

// TestVectorsDecode checks every vector's frames against its `# frames:`
// header, and the malformed ones against the error a receiver must detect.
func TestVectorsDecode(t *testing.T) {
	for _, v := range loadVectors(t) {
		v := v
		t.Run(v.name, func(t *testing.T) {
			frames, err := decodeVector(v)
			want, hasFrames := v.headers["frames"]
			switch v.name {
			case "bad-magic":
				if !errors.Is(err, errBadMagic) {
					t.Fatalf("decode error %v, want bad magic", err)
				}
				return
			case "length-ffffffff", "oversized-hello":
				if !errors.Is(err, errFrameTooLarge) {
					t.Fatalf("decode error %v, want frame too large", err)
				}
				return
			case "truncated-frame":
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("decode error %v, want unexpected EOF", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !hasFrames {
				t.Fatalf("vector has no frames header; add a case for it")
			}
			var got []string
			for _, f := range frames {
				got = append(got, f.describe())
			}
			if g := strings.Join(got, " "); g != want {
				t.Fatalf("frames %q, header says %q", g, want)
			}
			for _, f := range frames {
				if f.Type.isStreamFrame() && f.StreamID == 0 && v.headers["expect"] == "" {
					t.Errorf("well-formed vector has %s on stream 0", f.Type)
				}
			}
		})
	}
}

// TestVectorsPayloads decodes each vector's last payload as its `# message:`
// type and compares it with the `# json:` header, then re-encodes the
// well-formed vectors and compares the bytes.
func TestVectorsPayloads(t *testing.T) {
	checked := 0
	for _, v := range loadVectors(t) {
		v := v
		name, ok := v.headers["message"]
		if !ok {
			continue
		}
		checked++
		t.Run(v.name, func(t *testing.T) {
			frames, err := decodeVector(v)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			last := frames[len(frames)-1]
			mt := messageType(t, name)
			got := mt.New().Interface()
			if err := proto.Unmarshal(last.payload, got); err != nil {
				t.Fatalf("unmarshal %s: %v", name, err)
			}
			want := mt.New().Interface()
			if err := protojson.Unmarshal([]byte(v.headers["json"]), want); err != nil {
				t.Fatalf("protojson %s: %v", name, err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("payload decodes to %v, json header is %v", got, want)
			}
			if v.headers["expect"] != "" {
				return
			}
			enc, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			comparePayloads(t, mt.Descriptor(), enc, last.payload)
		})
	}
	if checked == 0 {
		t.Fatal("no vector has a message header")
	}
}

// TestVectorsReencode rebuilds every well-formed vector with the client's own
// encoders (frame headers, the hand-written CallHeader encoder, the preface,
// WINDOW/CANCEL/PING layouts) and compares the bytes.
func TestVectorsReencode(t *testing.T) {
	for _, v := range loadVectors(t) {
		v := v
		if v.headers["expect"] != "" {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			frames, err := decodeVector(v)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			var out []byte
			if v.preface() {
				out = append(out, magic[:]...)
			}
			for _, f := range frames {
				payload := reencodePayload(t, v, f)
				out = appendFrameHeader(out, frameHeader{Length: uint32(len(payload)), Type: f.Type, Flags: f.Flags, StreamID: f.StreamID})
				out = append(out, payload...)
			}
			if !bytes.Equal(out, v.data) {
				t.Fatalf("re-encoded\n %x\nvector\n %x", out, v.data)
			}
		})
	}
}

func reencodePayload(t *testing.T, v vector, f rawFrame) []byte {
	t.Helper()
	switch f.Type {
	case frameCall:
		var h modelgatev1.CallHeader
		if err := proto.Unmarshal(f.payload, &h); err != nil {
			t.Fatal(err)
		}
		return appendCallHeader(nil, h.Method, h.TimeoutMicros, h.Metadata, h.RequestId)
	case frameWindow:
		var p [4]byte
		binary.BigEndian.PutUint32(p[:], binary.BigEndian.Uint32(f.payload))
		return p[:]
	case frameCancel:
		return nil
	case framePing, framePong:
		return append([]byte(nil), f.payload...)
	case frameMessage:
		mt := messageType(t, v.headers["message"])
		m := mt.New().Interface()
		if err := proto.Unmarshal(f.payload, m); err != nil {
			t.Fatal(err)
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		comparePayloads(t, mt.Descriptor(), b, f.payload)
		return f.payload
	default:
		var m proto.Message
		switch f.Type {
		case frameHello:
			m = new(modelgatev1.Hello)
		case frameEnd:
			m = new(modelgatev1.EndStatus)
		case frameGoAway:
			m = new(modelgatev1.GoAway)
		default:
			t.Fatalf("unexpected frame type %s", f.Type)
		}
		if err := proto.Unmarshal(f.payload, m); err != nil {
			t.Fatal(err)
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// comparePayloads requires a Go re-encoding to equal a vector's payload. The
// one accepted difference is the order of top-level fields: Go's protobuf
// runtime writes oneof members (e.g. Usage.cost_usd, ChatRequest.temperature)
// after the regular fields, while the vectors' Python encoder writes fields in
// number order. Both are valid encodings of the same message; with the fields
// put in number order the bytes must be identical.
func comparePayloads(t *testing.T, md protoreflect.MessageDescriptor, goEnc, vec []byte) {
	t.Helper()
	if bytes.Equal(goEnc, vec) {
		return
	}
	a, b := fieldsInNumberOrder(t, goEnc, md), fieldsInNumberOrder(t, vec, md)
	if !bytes.Equal(a, b) {
		t.Fatalf("re-encoded payload\n %x\nvector\n %x", goEnc, vec)
	}
	t.Logf("payload equal up to field order (Go writes oneof members last):\n go     %x\n vector %x", goEnc, vec)
}

// fieldsInNumberOrder re-orders a message's fields by field number, keeping
// the relative order of repeated occurrences, and recurses into message fields.
func fieldsInNumberOrder(t *testing.T, b []byte, md protoreflect.MessageDescriptor) []byte {
	t.Helper()
	type field struct {
		num protowire.Number
		raw []byte
	}
	var fields []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			t.Fatalf("bad field %d: %v", num, protowire.ParseError(m))
		}
		raw := b[:n+m]
		if fd := md.Fields().ByNumber(num); fd != nil && fd.Message() != nil && typ == protowire.BytesType {
			inner, _ := protowire.ConsumeBytes(b[n:])
			raw = protowire.AppendTag(nil, num, typ)
			raw = protowire.AppendBytes(raw, fieldsInNumberOrder(t, inner, fd.Message()))
		}
		fields = append(fields, field{num, raw})
		b = b[n+m:]
	}
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].num < fields[j].num })
	var out []byte
	for _, f := range fields {
		out = append(out, f.raw...)
	}
	return out
}

// TestClientPrefaceEncoding checks the client's own preface against the
// preface vector's layout: magic, then a HELLO frame with version 1.
func TestClientPrefaceEncoding(t *testing.T) {
	var buf bytes.Buffer
	opts := defaultClientOptions()
	opts.window = 65536
	opts.agent = "vector-client/1"
	opts.maxRecvFrame = 0
	c := &conn{nc: writerConn{&buf}, opts: &opts}
	if err := c.writePreface(); err != nil {
		t.Fatal(err)
	}
	var want vector
	for _, v := range loadVectors(t) {
		if v.name == "preface-client" {
			want = v
		}
	}
	if !bytes.Equal(buf.Bytes(), want.data) {
		t.Fatalf("client preface\n %x\nvector\n %x", buf.Bytes(), want.data)
	}
}
