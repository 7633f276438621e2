package modelgate

import (
	"context"
	"net"
	"time"
)

// Version is this client's version, sent in the HELLO agent string.
const Version = "0.1.0"

// Option configures a Client.
type Option func(*clientOptions)

type clientOptions struct {
	agent        string
	dialer       func(ctx context.Context, network, address string) (net.Conn, error)
	dialTimeout  time.Duration
	window       uint32
	maxRecvFrame uint32
	maxRetries   int
	readBufSize  int
	writeBufSize int
	defaultMD    map[string]string
}

func defaultClientOptions() clientOptions {
	return clientOptions{
		agent:        "modelgate-go/" + Version,
		dialTimeout:  10 * time.Second,
		window:       defaultInitialWindowSize,
		maxRecvFrame: defaultMaxFrameSize,
		maxRetries:   2,
		readBufSize:  32 << 10,
		writeBufSize: 32 << 10,
	}
}

// WithAgent sets the implementation name sent in the HELLO, e.g. "billing/1.2
// modelgate-go/0.1.0". The default is "modelgate-go/<Version>".
func WithAgent(agent string) Option {
	return func(o *clientOptions) { o.agent = agent }
}

// WithDialer replaces the function that opens connections (the default is a
// net.Dialer). network is "unix" or "tcp".
func WithDialer(dial func(ctx context.Context, network, address string) (net.Conn, error)) Option {
	return func(o *clientOptions) { o.dialer = dial }
}

// WithDialTimeout bounds each connection attempt, including the exchange of
// HELLO frames. The default is 10 s.
func WithDialTimeout(d time.Duration) Option {
	return func(o *clientOptions) { o.dialTimeout = d }
}

// WithInitialWindowSize sets the flow-control window, in bytes, that every
// stream starts with for responses: how much the gateway may send on one
// stream ahead of the application's Recv calls. The default is 256 KiB.
func WithInitialWindowSize(n uint32) Option {
	return func(o *clientOptions) {
		if n > 0 && n <= maxWindow {
			o.window = n
		}
	}
}

// WithMaxReceiveMessageSize sets the largest response message, in bytes, the
// client accepts (the max_frame_size it announces). The default is 4 MiB.
func WithMaxReceiveMessageSize(n uint32) Option {
	return func(o *clientOptions) {
		if n > 0 {
			o.maxRecvFrame = n
		}
	}
}

// WithTransparentRetries sets how many times a call the gateway provably did not
// process (refused while draining, or not sent because the connection had
// broken) is retried on a new connection. The default is 2; 0 disables it.
func WithTransparentRetries(n int) Option {
	return func(o *clientOptions) {
		if n >= 0 {
			o.maxRetries = n
		}
	}
}

// WithDefaultMetadata adds a metadata pair sent with every call; per-call
// WithMetadata values of the same key win.
func WithDefaultMetadata(key, value string) Option {
	return func(o *clientOptions) {
		if o.defaultMD == nil {
			o.defaultMD = make(map[string]string)
		}
		o.defaultMD[key] = value
	}
}

// CallOption configures one call.
type CallOption func(*callOptions)

type callOptions struct {
	md        map[string]string
	requestID string
}

// WithMetadata adds a metadata pair to the call. Keys are lowercase
// [a-z0-9._-] and values printable ASCII; keys starting with "mg-" are
// reserved. The gateway rejects violations with InvalidArgument.
func WithMetadata(key, value string) CallOption {
	return func(o *callOptions) {
		if o.md == nil {
			o.md = make(map[string]string, 4)
		}
		o.md[key] = value
	}
}

// WithRequestID sets the call's request id, which the gateway logs, echoes in
// error details and forwards to the provider as X-Request-Id. When unset the
// gateway makes one up.
func WithRequestID(id string) CallOption {
	return func(o *callOptions) { o.requestID = id }
}

func (cl *Client) callOptions(opts []CallOption) callOptions {
	var co callOptions
	for _, o := range opts {
		o(&co)
	}
	if len(cl.opts.defaultMD) > 0 {
		md := make(map[string]string, len(cl.opts.defaultMD)+len(co.md))
		for k, v := range cl.opts.defaultMD {
			md[k] = v
		}
		for k, v := range co.md {
			md[k] = v
		}
		co.md = md
	}
	return co
}
