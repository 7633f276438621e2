package modelgate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
)

// mockWords is the text the built-in mock model cycles through (docs/configuration.md).
var mockWords = strings.Fields("The quick brown fox jumps over the lazy dog.")

// mockText is the mock model's reply of n tokens.
func mockText(n int) string {
	words := make([]string, n)
	for i := range words {
		words[i] = mockWords[i%len(mockWords)]
	}
	return strings.Join(words, " ")
}

// fakeText is the fake upstream's reply of n tokens (docs/fake-upstream.md).
func fakeText(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "tok%d ", i)
	}
	return b.String()
}

func userRequest(model, text string) *modelgatev1.ChatRequest {
	return &modelgatev1.ChatRequest{
		Model: model,
		Messages: []*modelgatev1.Message{{
			Role:  modelgatev1.Role_ROLE_USER,
			Parts: []*modelgatev1.ContentPart{{Part: &modelgatev1.ContentPart_Text{Text: text}}},
		}},
	}
}

// dialShared connects to the shared gateway (Unix socket unless addr is given).
func dialShared(t *testing.T, opts ...Option) *Client {
	t.Helper()
	g := requireGateway(t)
	return dialAddr(t, g.unixAddr, opts...)
}

func dialAddr(t *testing.T, addr string, opts ...Option) *Client {
	t.Helper()
	cl, err := Dial(context.Background(), addr, opts...)
	if err != nil {
		t.Fatalf("Dial %s: %v", addr, err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// streamResult is everything a ChatStream delivered.
type streamResult struct {
	chunks []*modelgatev1.ChatChunk
	text   string
	final  *modelgatev1.ChatChunk
	err    error // nil after io.EOF
}

func readStream(cs *ChatStream) streamResult {
	var r streamResult
	var text strings.Builder
	for {
		c, err := cs.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.err = err
			break
		}
		r.chunks = append(r.chunks, c)
		text.WriteString(c.GetText())
		if c.GetFinal() {
			r.final = c
		}
	}
	r.text = text.String()
	return r
}

// checkMockStream verifies a successful mock stream of n tokens for a request
// of inputWords words.
func checkMockStream(t *testing.T, r streamResult, n, inputWords int) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("stream error: %v", r.err)
	}
	if r.text != mockText(n) {
		t.Fatalf("stream text %q, want %q", r.text, mockText(n))
	}
	for i, c := range r.chunks {
		if c.GetSequence() != uint64(i) {
			t.Fatalf("chunk %d has sequence %d", i, c.GetSequence())
		}
		if c.GetFinal() != (i == len(r.chunks)-1) {
			t.Fatalf("chunk %d of %d has final=%v", i, len(r.chunks), c.GetFinal())
		}
	}
	if r.final == nil {
		t.Fatal("no final chunk")
	}
	u := r.final.GetUsage()
	if u.GetSource() != modelgatev1.UsageSource_USAGE_SOURCE_GATEWAY || u.GetOutputTokens() != uint32(n) ||
		u.GetInputTokens() != uint32(inputWords) || u.GetDeliveredChunks() != uint32(len(r.chunks)-1) {
		t.Fatalf("final usage %v; want gateway source, %d output, %d input, %d delivered chunks", u, n, inputWords, len(r.chunks)-1)
	}
	if r.final.GetFinishReason() != modelgatev1.FinishReason_FINISH_REASON_STOP {
		t.Fatalf("finish reason %v", r.final.GetFinishReason())
	}
}

func TestChatUnary(t *testing.T) {
	cl := dialShared(t)
	resp, err := cl.Chat(context.Background(), userRequest("mock", "say hello to me"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetText() != mockText(16) {
		t.Fatalf("text %q, want %q", resp.GetText(), mockText(16))
	}
	u := resp.GetUsage()
	if u.GetOutputTokens() != 16 || u.GetInputTokens() != 4 || u.GetSource() != modelgatev1.UsageSource_USAGE_SOURCE_GATEWAY {
		t.Fatalf("usage %v", u)
	}
	if resp.GetFinishReason() != modelgatev1.FinishReason_FINISH_REASON_STOP {
		t.Fatalf("finish reason %v", resp.GetFinishReason())
	}
	resp, err = cl.Chat(context.Background(), userRequest("mock", "hi"), WithMetadata("mock-tokens", "3"))
	if err != nil || resp.GetText() != mockText(3) {
		t.Fatalf("mock-tokens 3: %q %v", resp.GetText(), err)
	}
}

func TestChatStream(t *testing.T) {
	cl := dialShared(t)
	for _, n := range []int{1, 16, 300} {
		cs, err := cl.ChatStream(context.Background(), userRequest("mock", "one two"), WithMetadata("mock-tokens", fmt.Sprint(n)))
		if err != nil {
			t.Fatal(err)
		}
		r := readStream(cs)
		checkMockStream(t, r, n, 2)
		if first := r.chunks[0]; first.GetModel() == "" || first.GetProvider() == "" {
			t.Errorf("first chunk lacks model/provider: %v", first)
		}
		if _, err := cs.Recv(); err != io.EOF {
			t.Fatalf("Recv after the end: %v, want io.EOF", err)
		}
		if cs.Usage().GetOutputTokens() != uint32(n) {
			t.Fatalf("Usage() = %v", cs.Usage())
		}
		cs.Close()
	}
}

func TestChatStreamTCP(t *testing.T) {
	g := requireGateway(t)
	cl := dialAddr(t, g.tcpAddr)
	cs, err := cl.ChatStream(context.Background(), userRequest("mock", "over tcp"), WithMetadata("mock-tokens", "20"))
	if err != nil {
		t.Fatal(err)
	}
	checkMockStream(t, readStream(cs), 20, 2)
	if _, err := cl.Chat(context.Background(), userRequest("mock", "x")); err != nil {
		t.Fatal(err)
	}
}

func TestChatStreamRecvMsgAndForEach(t *testing.T) {
	cl := dialShared(t)
	cs, err := cl.ChatStream(context.Background(), userRequest("mock", "a"), WithMetadata("mock-tokens", "40"))
	if err != nil {
		t.Fatal(err)
	}
	var chunk modelgatev1.ChatChunk
	var text strings.Builder
	for {
		err := cs.RecvMsg(&chunk)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(chunk.GetText())
	}
	if text.String() != mockText(40) || cs.Final().GetUsage().GetOutputTokens() != 40 {
		t.Fatalf("RecvMsg text %q final %v", text.String(), cs.Final())
	}
	cs, err = cl.ChatStream(context.Background(), userRequest("mock", "a"), WithMetadata("mock-tokens", "5"))
	if err != nil {
		t.Fatal(err)
	}
	text.Reset()
	if err := cs.ForEach(func(c *modelgatev1.ChatChunk) error { text.WriteString(c.GetText()); return nil }); err != nil {
		t.Fatal(err)
	}
	if text.String() != mockText(5) {
		t.Fatalf("ForEach text %q", text.String())
	}
	stop := errors.New("stop")
	cs, err = cl.ChatStream(context.Background(), userRequest("mock", "a"), WithMetadata("mock-tokens", "50"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.ForEach(func(*modelgatev1.ChatChunk) error { return stop }); err != stop {
		t.Fatalf("ForEach returned %v, want fn's error", err)
	}
}

// TestConcurrentStreams runs 100 streams at once on one client, which keeps
// one connection.
func TestConcurrentStreams(t *testing.T) {
	cl := dialShared(t)
	cl.mu.Lock()
	c0 := cl.conn
	cl.mu.Unlock()
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tokens := 20 + i%30
			cs, err := cl.ChatStream(context.Background(), userRequest("mock", "concurrent"),
				WithMetadata("mock-tokens", fmt.Sprint(tokens)), WithMetadata("mock-interval-ms", "1"))
			if err != nil {
				errs <- err
				return
			}
			defer cs.Close()
			r := readStream(cs)
			if r.err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, r.err)
				return
			}
			if r.text != mockText(tokens) {
				errs <- fmt.Errorf("stream %d: text %q", i, r.text)
				return
			}
			for j, c := range r.chunks {
				if c.GetSequence() != uint64(j) {
					errs <- fmt.Errorf("stream %d: chunk %d has sequence %d", i, j, c.GetSequence())
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.conn != c0 || len(cl.older) != 0 {
		t.Fatal("the client opened another connection")
	}
}

// TestMoreCallsThanStreamLimit makes more concurrent unary calls than the
// gateway's max_concurrent_streams (100): the client queues them rather than
// letting the gateway refuse them.
func TestMoreCallsThanStreamLimit(t *testing.T) {
	cl := dialShared(t)
	const n = 250
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := cl.Chat(context.Background(), userRequest("mock", "x"),
				WithMetadata("mock-tokens", "4"), WithMetadata("mock-interval-ms", "2"))
			if err == nil && resp.GetText() != mockText(4) {
				err = fmt.Errorf("text %q", resp.GetText())
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestListModelsAndHealth(t *testing.T) {
	cl := dialShared(t)
	models, err := cl.ListModels(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range models.GetModels() {
		if m.GetName() == "mock" {
			found = true
		}
	}
	if !found {
		t.Fatalf("ListModels has no mock model: %v", models)
	}
	h, err := cl.Health(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.GetStatus() != modelgatev1.ServingStatus_SERVING_STATUS_SERVING {
		t.Fatalf("Health %v", h)
	}
	if _, err := cl.Health(context.Background(), &modelgatev1.HealthRequest{}); err != nil {
		t.Fatal(err)
	}
}

func TestEmbed(t *testing.T) {
	requireFake(t)
	cl := dialShared(t)
	resp, err := cl.Embed(context.Background(), &modelgatev1.EmbedRequest{Model: "fake-embed", Inputs: []string{"a b", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetEmbeddings()) != 2 {
		t.Fatalf("embeddings %v", resp)
	}
	for i, e := range resp.GetEmbeddings() {
		if e.GetIndex() != uint32(i) || len(e.GetValues()) != 8 {
			t.Fatalf("embedding %d: %v", i, e)
		}
		for j, v := range e.GetValues() {
			want := float32(i+1) * 0.001 * float32(j+1)
			if d := v - want; d > 1e-6 || d < -1e-6 {
				t.Fatalf("embedding %d value %d = %v, want %v", i, j, v, want)
			}
		}
	}
}

func TestChatThroughProvider(t *testing.T) {
	requireFake(t)
	cl := dialShared(t)
	resp, err := cl.Chat(context.Background(), userRequest("fake-chat", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	want := fakeText(8)
	if resp.GetText() != want {
		t.Fatalf("text %q, want %q", resp.GetText(), want)
	}
	cs, err := cl.ChatStream(context.Background(), userRequest("fake-chat", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	r := readStream(cs)
	if r.err != nil || r.final == nil || r.text != want {
		t.Fatalf("stream through provider: text %q err %v final %v", r.text, r.err, r.final)
	}
}
