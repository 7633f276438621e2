package modelgate

import (
	"context"
	"sync"
	"time"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
	"google.golang.org/protobuf/proto"
)

// Method paths of the modelgate.v1.Gateway service.
const (
	MethodChat       = "/modelgate.v1.Gateway/Chat"
	MethodChatStream = "/modelgate.v1.Gateway/ChatStream"
	MethodEmbed      = "/modelgate.v1.Gateway/Embed"
	MethodPredict    = "/modelgate.v1.Gateway/Predict"
	MethodListModels = "/modelgate.v1.Gateway/ListModels"
	MethodHealth     = "/modelgate.v1.Gateway/Health"
)

// Client is a connection to a ModelGate gateway. It is safe for concurrent use:
// all calls share one connection, multiplexed. When the connection breaks (for
// example because the gateway restarted), calls in flight fail with Unavailable
// and the next call connects again. Close it when done.
type Client struct {
	tgt  target
	opts clientOptions

	mu      sync.Mutex
	conn    *conn   // current connection; nil before the first dial
	older   []*conn // draining connections that still finish their calls
	dialing *dialAttempt
	closed  bool
}

type dialAttempt struct {
	done chan struct{}
	err  error
}

// Dial connects to the gateway at address and returns a Client. address is
// "unix:///abs/path", "unix:/abs/path", "unix:rel/path" or "tcp://host:port";
// an empty address means $MODELGATE_ADDRESS, else DefaultAddress. Dial fails
// with an Unavailable *Error when nothing listens there.
func Dial(ctx context.Context, address string, opts ...Option) (*Client, error) {
	cl, err := NewClient(address, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := cl.getConn(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// NewClient returns a Client for the gateway at address (see Dial) without
// connecting: the first call connects.
func NewClient(address string, opts ...Option) (*Client, error) {
	tgt, err := parseAddress(resolveAddress(address))
	if err != nil {
		return nil, err
	}
	cl := &Client{tgt: tgt, opts: defaultClientOptions()}
	for _, o := range opts {
		o(&cl.opts)
	}
	return cl, nil
}

// Address returns the gateway address the client connects to.
func (cl *Client) Address() string { return cl.tgt.raw }

// Close closes the client's connections. Calls in flight fail with Canceled.
func (cl *Client) Close() error {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil
	}
	cl.closed = true
	conns := append(cl.older, cl.conn)
	cl.conn, cl.older = nil, nil
	cl.mu.Unlock()
	for _, c := range conns {
		if c != nil {
			c.fail(errClientClosed())
		}
	}
	return nil
}

func errClientClosed() *Error {
	return newLocalError(Canceled, modelgatev1.ErrorKind_ERROR_KIND_CANCELLED, false, nil, "the client is closed")
}

// getConn returns a connection that takes new streams, dialing one if needed.
// Concurrent callers share one dial.
func (cl *Client) getConn(ctx context.Context) (*conn, error) {
	for tries := 0; ; tries++ {
		cl.mu.Lock()
		if cl.closed {
			cl.mu.Unlock()
			return nil, errClientClosed()
		}
		if c := cl.conn; c != nil && c.usable() {
			cl.mu.Unlock()
			return c, nil
		}
		if tries >= 3 {
			cl.mu.Unlock()
			return nil, newLocalError(Unavailable, 0, true, nil, "the gateway at %s closes every new connection", cl.tgt.raw)
		}
		d := cl.dialing
		if d == nil {
			d = &dialAttempt{done: make(chan struct{})}
			cl.dialing = d
			go cl.dial(d)
		}
		cl.mu.Unlock()
		select {
		case <-d.done:
			if d.err != nil {
				return nil, d.err
			}
		case <-ctx.Done():
			return nil, contextError(ctx.Err())
		}
	}
}

// dial connects in the background, bounded by the dial timeout rather than
// by one caller's context, since every waiting caller uses the result.
func (cl *Client) dial(d *dialAttempt) {
	ctx, cancel := context.WithTimeout(context.Background(), cl.opts.dialTimeout)
	c, err := dialConn(ctx, cl.tgt, &cl.opts)
	cancel()
	if e, ok := err.(*Error); ok && e.Local && e.Code == DeadlineExceeded && ctx.Err() != nil {
		err = newLocalError(Unavailable, 0, true, ctx.Err(), "timed out connecting to the gateway at %s after %v", cl.tgt.raw, cl.opts.dialTimeout)
	}
	cl.mu.Lock()
	cl.dialing = nil
	if err == nil {
		if cl.closed {
			c.fail(errClientClosed())
		} else {
			if old := cl.conn; old != nil {
				cl.older = append(cl.older, old)
			}
			cl.conn = c
			cl.pruneOlderLocked()
		}
	}
	cl.mu.Unlock()
	if err != nil {
		d.err = err
	}
	close(d.done)
}

func (cl *Client) pruneOlderLocked() {
	kept := cl.older[:0]
	for _, c := range cl.older {
		select {
		case <-c.done:
		default:
			kept = append(kept, c)
		}
	}
	for i := len(kept); i < len(cl.older); i++ {
		cl.older[i] = nil
	}
	cl.older = kept
}

// encodeRequest returns a MESSAGE frame (END_STREAM, stream id 0) carrying req.
func encodeRequest(req proto.Message) (*buffer, error) {
	buf := getBuffer(frameHeaderLen)
	b := buf.b
	if req != nil {
		var err error
		b, err = proto.MarshalOptions{}.MarshalAppend(b, req)
		if err != nil {
			putBuffer(buf)
			return nil, newLocalError(InvalidArgument, modelgatev1.ErrorKind_ERROR_KIND_INVALID_REQUEST, false, err,
				"cannot encode the request: %v", err)
		}
	}
	putFrameHeader(b, frameHeader{Length: uint32(len(b) - frameHeaderLen), Type: frameMessage, Flags: flagEndStream})
	buf.b = b
	return buf, nil
}

// open starts a call on a usable connection. A call that could not be sent
// because its connection broke or started draining is retried on a new one.
func (cl *Client) open(ctx context.Context, method string, co *callOptions, msg *buffer, unary bool) (*stream, error) {
	for attempt := 0; ; attempt++ {
		c, err := cl.getConn(ctx)
		if err != nil {
			return nil, err
		}
		if n := len(msg.b) - frameHeaderLen; n > int(c.peerMaxFrame) {
			return nil, newLocalError(ResourceExhausted, modelgatev1.ErrorKind_ERROR_KIND_GATEWAY_LIMIT, false, nil,
				"request of %d bytes exceeds the gateway's max_frame_size %d", n, c.peerMaxFrame)
		}
		s, err := c.openStream(ctx, method, co, msg.b, unary)
		if err == errConnUnusable {
			if attempt < cl.opts.maxRetries {
				continue
			}
			c.mu.Lock()
			cause := c.failErr
			c.mu.Unlock()
			if cause != nil {
				return nil, cause
			}
			return nil, newLocalError(Unavailable, modelgatev1.ErrorKind_ERROR_KIND_SHUTTING_DOWN, true, nil,
				"the gateway at %s is draining", cl.tgt.raw)
		}
		return s, err
	}
}

// timeoutMicros converts the context's deadline to CALL's timeout_micros.
func timeoutMicros(ctx context.Context) (uint64, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	d := time.Until(dl)
	if d <= 0 {
		return 0, contextError(context.DeadlineExceeded)
	}
	return uint64((d + time.Microsecond - 1) / time.Microsecond), nil
}

// Invoke makes a unary call of method (e.g. MethodChat): it sends req and
// decodes the response into resp. Chat, Embed, Predict, ListModels and Health
// are Invoke with their method and types.
func (cl *Client) Invoke(ctx context.Context, method string, req, resp proto.Message, opts ...CallOption) error {
	if err := ctx.Err(); err != nil {
		return contextError(err)
	}
	co := cl.callOptions(opts)
	msg, err := encodeRequest(req)
	if err != nil {
		return err
	}
	defer putBuffer(msg)
	for attempt := 0; ; attempt++ {
		s, err := cl.open(ctx, method, &co, msg, true)
		if err != nil {
			return err
		}
		buf, err := s.awaitUnary(ctx)
		if err != nil {
			if s.refused && attempt < cl.opts.maxRetries && ctx.Err() == nil {
				continue
			}
			return err
		}
		err = proto.Unmarshal(buf.b, resp)
		putBuffer(buf)
		if err != nil {
			return newLocalError(Internal, modelgatev1.ErrorKind_ERROR_KIND_INTERNAL, false, err,
				"cannot decode the %s response: %v", method, err)
		}
		return nil
	}
}

// Chat sends one chat request and returns the whole response.
func (cl *Client) Chat(ctx context.Context, req *modelgatev1.ChatRequest, opts ...CallOption) (*modelgatev1.ChatResponse, error) {
	resp := new(modelgatev1.ChatResponse)
	if err := cl.Invoke(ctx, MethodChat, req, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

// Embed returns embeddings for a batch of inputs.
func (cl *Client) Embed(ctx context.Context, req *modelgatev1.EmbedRequest, opts ...CallOption) (*modelgatev1.EmbedResponse, error) {
	resp := new(modelgatev1.EmbedResponse)
	if err := cl.Invoke(ctx, MethodEmbed, req, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

// Predict runs inference on a predictive (tensor) model.
func (cl *Client) Predict(ctx context.Context, req *modelgatev1.PredictRequest, opts ...CallOption) (*modelgatev1.PredictResponse, error) {
	resp := new(modelgatev1.PredictResponse)
	if err := cl.Invoke(ctx, MethodPredict, req, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

// ListModels returns the models the gateway serves. req may be nil.
func (cl *Client) ListModels(ctx context.Context, req *modelgatev1.ListModelsRequest, opts ...CallOption) (*modelgatev1.ListModelsResponse, error) {
	resp := new(modelgatev1.ListModelsResponse)
	if err := cl.Invoke(ctx, MethodListModels, req, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

// Health reports the gateway's serving status. req may be nil (the whole gateway).
func (cl *Client) Health(ctx context.Context, req *modelgatev1.HealthRequest, opts ...CallOption) (*modelgatev1.HealthResponse, error) {
	resp := new(modelgatev1.HealthResponse)
	if err := cl.Invoke(ctx, MethodHealth, req, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}
