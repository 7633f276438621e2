// Command goload is the suite's Go load generator: closed-loop callers, one
// goroutine each, through the ModelGate Go client (one multiplexed connection)
// or straight to an OpenAI-compatible server with net/http (a keep-alive
// connection per caller). It prints one JSON object with the same keys as
// `modelgate-bench measure`, for bench/suite/suite.py.
//
//	goload -target unix:///tmp/gw.sock -model bench-unary -callers 64
//	goload -target http://127.0.0.1:8000/v1 -model tokens=256 -streaming
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	modelgate "github.com/modelgate/modelgate/clients/go"
	"github.com/modelgate/modelgate/clients/go/modelgatev1"
)

var levels = []float64{0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 0.999}

// maxWarmUp bounds the untimed start of a run, a fifth of the measured time (as modelgate-bench).
const maxWarmUp = 500 * time.Millisecond

// timing is one call: total time, time to the first token, tokens.
type timing struct {
	total, first time.Duration
	tokens       int
}

type caller func(ctx context.Context) (timing, error)

func main() {
	target := flag.String("target", "", "http://127.0.0.1:PORT/v1, unix:///PATH or tcp://127.0.0.1:PORT")
	model := flag.String("model", "", "model name sent in each request")
	streaming := flag.Bool("streaming", false, "streamed chat instead of unary")
	callers := flag.Int("callers", 1, "concurrent callers")
	seconds := flag.Float64("seconds", 3, "seconds measured after the warm-up")
	flag.Parse()
	call, err := newCaller(*target, *model, *streaming, *callers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goload:", err)
		os.Exit(1)
	}
	figures, ok := run(call, *callers, time.Duration(*seconds*float64(time.Second)))
	out, _ := json.Marshal(figures)
	fmt.Println(string(out))
	if !ok {
		os.Exit(1)
	}
}

func newCaller(target, model string, streaming bool, callers int) (caller, error) {
	if strings.HasPrefix(target, "http://") {
		return httpCaller(target, model, streaming, callers), nil
	}
	cl, err := modelgate.Dial(context.Background(), target)
	if err != nil {
		return nil, err
	}
	req := &modelgatev1.ChatRequest{Model: model, Messages: []*modelgatev1.Message{{
		Role:  modelgatev1.Role_ROLE_USER,
		Parts: []*modelgatev1.ContentPart{{Part: &modelgatev1.ContentPart_Text{Text: "hello there"}}},
	}}}
	if !streaming {
		return func(ctx context.Context) (timing, error) {
			start := time.Now()
			_, err := cl.Chat(ctx, req)
			d := time.Since(start)
			return timing{d, d, 1}, err
		}, nil
	}
	return func(ctx context.Context) (timing, error) {
		start := time.Now()
		cs, err := cl.ChatStream(ctx, req)
		if err != nil {
			return timing{}, err
		}
		var t timing
		var chunk modelgatev1.ChatChunk
		for {
			err := cs.RecvMsg(&chunk)
			if err == io.EOF {
				t.total = time.Since(start)
				return t, nil
			}
			if err != nil {
				return t, err
			}
			if chunk.Text != "" {
				t.tokens++
				if t.tokens == 1 {
					t.first = time.Since(start)
				}
			}
		}
	}, nil
}

var tokenMarker = []byte(`"content":"tok`)

func httpCaller(target, model string, streaming bool, callers int) caller {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: callers, DisableCompression: true}}
	body, _ := json.Marshal(map[string]any{
		"model": model, "stream": streaming, "stream_options": map[string]bool{"include_usage": true},
		"messages": []map[string]string{{"role": "user", "content": "hello there"}},
	})
	url := strings.TrimSuffix(target, "/") + "/chat/completions"
	return func(ctx context.Context) (timing, error) {
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return timing{}, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return timing{}, fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		var t timing
		if !streaming {
			_, err = io.Copy(io.Discard, resp.Body)
			t.total = time.Since(start)
			return timing{t.total, t.total, 1}, err
		}
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() {
			if bytes.Contains(lines.Bytes(), tokenMarker) {
				t.tokens++
				if t.tokens == 1 {
					t.first = time.Since(start)
				}
			}
		}
		t.total = time.Since(start)
		return t, lines.Err()
	}
}

func run(call caller, callers int, measured time.Duration) (map[string]any, bool) {
	ctx := context.Background()
	warmUp := measured / 5
	if warmUp > maxWarmUp {
		warmUp = maxWarmUp
	}
	start := time.Now().Add(warmUp)
	deadline := start.Add(measured)
	var mu sync.Mutex
	var timings []timing
	all, errs := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []timing
			calls := 0
			for time.Now().Before(deadline) {
				t, err := call(ctx)
				if err != nil {
					mu.Lock()
					if errs == 0 {
						fmt.Fprintln(os.Stderr, "goload:", err)
					}
					errs++
					mu.Unlock()
					break
				}
				calls++
				if time.Now().After(start) {
					local = append(local, t)
				}
			}
			mu.Lock()
			timings = append(timings, local...)
			all += calls
			mu.Unlock()
		}()
	}
	wg.Wait()
	tokens := 0
	totals := make([]float64, len(timings))
	firsts := make([]float64, len(timings))
	for i, t := range timings {
		tokens += t.tokens
		totals[i] = float64(t.total) / 1e6
		firsts[i] = float64(t.first) / 1e6
	}
	secs := measured.Seconds()
	return map[string]any{
		"calls": len(timings), "all_calls": all, "errors": errs, "seconds": secs,
		"requests_per_second": float64(len(timings)) / secs, "tokens": tokens,
		"tokens_per_second": float64(tokens) / secs, "percentile_levels": levels,
		"latency_ms": percentiles(totals), "first_token_ms": percentiles(firsts),
	}, len(timings) > 0
}

func percentiles(values []float64) []float64 {
	sort.Float64s(values)
	out := make([]float64, len(levels))
	for i, p := range levels {
		if len(values) == 0 {
			out[i] = -1
			continue
		}
		k := int(float64(len(values)-1)*p + 0.5)
		out[i] = values[k]
	}
	return out
}
