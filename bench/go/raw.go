package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// rawConn is the baseline: the protocol written by hand on a net.Conn, one call
// at a time, no multiplexing, no goroutines. It encodes the CALL and MESSAGE
// frames once, patches the stream id per call and reads frames until END; it
// decodes the response payloads like any useful client would.
type rawConn struct {
	nc   net.Conn
	br   *bufio.Reader
	next uint32
	hdr  [10]byte
	buf  []byte
}

func dialRaw(address string) (*rawConn, error) {
	network, addr := "unix", ""
	switch {
	case strings.HasPrefix(address, "unix://"):
		addr = strings.TrimPrefix(address, "unix://")
	case strings.HasPrefix(address, "unix:"):
		addr = strings.TrimPrefix(address, "unix:")
	case strings.HasPrefix(address, "tcp://"):
		network, addr = "tcp", strings.TrimPrefix(address, "tcp://")
	default:
		return nil, fmt.Errorf("unsupported address %q", address)
	}
	nc, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	hello, _ := proto.Marshal(&modelgatev1.Hello{Version: 1, Agent: "bench-raw/1"})
	b := []byte{0x89, 'M', 'G', 'W', '\r', '\n', 0x1a, '\n'}
	b = appendHeader(b, uint32(len(hello)), 0x01, 0, 0)
	b = append(b, hello...)
	if _, err := nc.Write(b); err != nil {
		nc.Close()
		return nil, err
	}
	rc := &rawConn{nc: nc, br: bufio.NewReaderSize(nc, 32<<10)}
	typ, _, _, err := rc.readFrame()
	if err != nil || typ != 0x01 {
		nc.Close()
		return nil, fmt.Errorf("no server HELLO (type %d, %v)", typ, err)
	}
	return rc, nil
}

func appendHeader(b []byte, length uint32, typ, flags byte, id uint32) []byte {
	b = binary.BigEndian.AppendUint32(b, length)
	b = append(b, typ, flags)
	return binary.BigEndian.AppendUint32(b, id)
}

// encodeCall returns CALL + MESSAGE(END_STREAM) frames with stream id 0 and
// the offset of the MESSAGE header.
func encodeCall(method string, md map[string]string, req proto.Message) ([]byte, int) {
	var call []byte
	call = protowire.AppendTag(call, 1, protowire.BytesType)
	call = protowire.AppendString(call, method)
	for k, v := range md {
		entry := protowire.AppendTag(nil, 1, protowire.BytesType)
		entry = protowire.AppendString(entry, k)
		entry = protowire.AppendTag(entry, 2, protowire.BytesType)
		entry = protowire.AppendString(entry, v)
		call = protowire.AppendTag(call, 3, protowire.BytesType)
		call = protowire.AppendBytes(call, entry)
	}
	payload, _ := proto.Marshal(req)
	b := appendHeader(nil, uint32(len(call)), 0x02, 0, 0)
	b = append(b, call...)
	msgAt := len(b)
	b = appendHeader(b, uint32(len(payload)), 0x03, 0x01, 0)
	return append(b, payload...), msgAt
}

func (rc *rawConn) readFrame() (typ byte, flags byte, id uint32, err error) {
	if _, err = io.ReadFull(rc.br, rc.hdr[:]); err != nil {
		return
	}
	n := binary.BigEndian.Uint32(rc.hdr[0:4])
	typ, flags, id = rc.hdr[4], rc.hdr[5], binary.BigEndian.Uint32(rc.hdr[6:10])
	if cap(rc.buf) < int(n) {
		rc.buf = make([]byte, n)
	}
	rc.buf = rc.buf[:n]
	_, err = io.ReadFull(rc.br, rc.buf)
	return
}

// call sends frames (from encodeCall) on a new stream id and reads until its
// END, decoding every MESSAGE into msg. It returns the number of MESSAGEs.
func (rc *rawConn) call(frames []byte, msgAt int, msg proto.Message) (int, error) {
	rc.next++
	binary.BigEndian.PutUint32(frames[6:10], rc.next)
	binary.BigEndian.PutUint32(frames[msgAt+6:msgAt+10], rc.next)
	if _, err := rc.nc.Write(frames); err != nil {
		return 0, err
	}
	n := 0
	for {
		typ, _, id, err := rc.readFrame()
		if err != nil {
			return n, err
		}
		if id != rc.next {
			continue
		}
		switch typ {
		case 0x03:
			if err := proto.Unmarshal(rc.buf, msg); err != nil {
				return n, err
			}
			n++
		case 0x04:
			if len(rc.buf) > 0 {
				var st modelgatev1.EndStatus
				proto.Unmarshal(rc.buf, &st)
				if st.GetCode() != 0 {
					return n, fmt.Errorf("END %v", &st)
				}
			}
			return n, nil
		}
	}
}

func (rc *rawConn) close() { rc.nc.Close() }
