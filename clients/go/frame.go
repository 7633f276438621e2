package modelgate

import (
	"encoding/binary"
	"fmt"
)

// Protocol constants from docs/protocol.md.
const (
	protocolVersion = 1

	frameHeaderLen = 10

	defaultMaxFrameSize         = 4 << 20
	defaultMaxConcurrentStreams = 100
	defaultInitialWindowSize    = 256 << 10
	maxClientHelloSize          = 16 << 10
	maxWindow                   = 1<<31 - 1
)

// magic is the 8-byte connection preface that precedes the client's HELLO.
var magic = [8]byte{0x89, 'M', 'G', 'W', '\r', '\n', 0x1a, '\n'}

// frameType identifies a frame's kind.
type frameType uint8

// Frame types.
const (
	frameHello   frameType = 0x01
	frameCall    frameType = 0x02
	frameMessage frameType = 0x03
	frameEnd     frameType = 0x04
	frameCancel  frameType = 0x05
	frameWindow  frameType = 0x06
	framePing    frameType = 0x07
	framePong    frameType = 0x08
	frameGoAway  frameType = 0x09
)

var frameTypeNames = [...]string{"", "HELLO", "CALL", "MESSAGE", "END", "CANCEL", "WINDOW", "PING", "PONG", "GOAWAY"}

func (t frameType) String() string {
	if int(t) < len(frameTypeNames) && t != 0 {
		return frameTypeNames[t]
	}
	return fmt.Sprintf("0x%02X", uint8(t))
}

// Flags of MESSAGE frames.
const (
	flagEndStream  uint8 = 0x01
	flagCompressed uint8 = 0x02
)

// frameHeader is the fixed 10-byte header of every frame.
type frameHeader struct {
	Length   uint32
	Type     frameType
	Flags    uint8
	StreamID uint32
}

// putFrameHeader encodes h into b, which must hold at least frameHeaderLen bytes.
func putFrameHeader(b []byte, h frameHeader) {
	_ = b[frameHeaderLen-1]
	binary.BigEndian.PutUint32(b[0:4], h.Length)
	b[4] = byte(h.Type)
	b[5] = h.Flags
	binary.BigEndian.PutUint32(b[6:10], h.StreamID)
}

// appendFrameHeader appends the encoding of h to b.
func appendFrameHeader(b []byte, h frameHeader) []byte {
	var hdr [frameHeaderLen]byte
	putFrameHeader(hdr[:], h)
	return append(b, hdr[:]...)
}

// parseFrameHeader decodes a header from b, which must hold at least frameHeaderLen bytes.
func parseFrameHeader(b []byte) frameHeader {
	_ = b[frameHeaderLen-1]
	return frameHeader{
		Length:   binary.BigEndian.Uint32(b[0:4]),
		Type:     frameType(b[4]),
		Flags:    b[5],
		StreamID: binary.BigEndian.Uint32(b[6:10]) & 0x7fffffff,
	}
}

// isStreamFrame reports whether frames of type t belong to a stream (non-zero id).
func (t frameType) isStreamFrame() bool {
	switch t {
	case frameCall, frameMessage, frameEnd, frameCancel, frameWindow:
		return true
	}
	return false
}
