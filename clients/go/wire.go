package modelgate

import (
	"sort"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of modelgate.v1.CallHeader (wire.proto).
const (
	callHeaderMethod        protowire.Number = 1
	callHeaderTimeoutMicros protowire.Number = 2
	callHeaderMetadata      protowire.Number = 3
	callHeaderRequestID     protowire.Number = 4
)

// appendCallHeader appends the protobuf encoding of a CallHeader to b. It is
// written by hand to avoid building a message per call; metadata entries are
// sorted by key so the encoding is deterministic. The result decodes to the
// same message as modelgatev1.CallHeader would marshal to.
func appendCallHeader(b []byte, method string, timeoutMicros uint64, md map[string]string, requestID string) []byte {
	b = protowire.AppendTag(b, callHeaderMethod, protowire.BytesType)
	b = protowire.AppendString(b, method)
	if timeoutMicros != 0 {
		b = protowire.AppendTag(b, callHeaderTimeoutMicros, protowire.VarintType)
		b = protowire.AppendVarint(b, timeoutMicros)
	}
	if len(md) > 0 {
		var stack [8]string
		keys := stack[:0]
		for k := range md {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := md[k]
			entry := 1 + protowire.SizeBytes(len(k)) + 1 + protowire.SizeBytes(len(v))
			b = protowire.AppendTag(b, callHeaderMetadata, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(entry))
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendString(b, k)
			b = protowire.AppendTag(b, 2, protowire.BytesType)
			b = protowire.AppendString(b, v)
		}
	}
	if requestID != "" {
		b = protowire.AppendTag(b, callHeaderRequestID, protowire.BytesType)
		b = protowire.AppendString(b, requestID)
	}
	return b
}

// buffer is a pooled byte slice. Payloads of received MESSAGE frames and
// encoded outgoing calls live in buffers so that steady-state calls do not
// allocate them.
type buffer struct{ b []byte }

const (
	minPooledBuffer = 512
	maxPooledBuffer = 64 << 10
)

var bufferPool = sync.Pool{New: func() interface{} { return &buffer{b: make([]byte, 0, minPooledBuffer)} }}

// getBuffer returns a buffer of length n.
func getBuffer(n int) *buffer {
	buf := bufferPool.Get().(*buffer)
	if cap(buf.b) < n {
		buf.b = make([]byte, n)
	}
	buf.b = buf.b[:n]
	return buf
}

// putBuffer recycles buf; large buffers are left to the garbage collector.
func putBuffer(buf *buffer) {
	if buf == nil || cap(buf.b) > maxPooledBuffer {
		return
	}
	buf.b = buf.b[:0]
	bufferPool.Put(buf)
}
