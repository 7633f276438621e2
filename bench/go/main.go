// Command bench measures the Go client against a raw-socket Go baseline on the
// same gateway in the same run:
//
//   - unary Chat round-trip latency (p50, p99) to the built-in mock model over
//     the Unix socket, one call at a time;
//   - streamed tokens per second for a 256-token mock stream.
//
// Client and raw runs are interleaved, repeated (-reps, at least 3) and the
// medians of the per-repetition figures are reported, with the time the client
// adds per call. -smoke runs a few seconds' worth as a test of the benchmark
// itself. Without -addr it starts the gateway from $MODELGATE_BIN (default
// <repo>/.build/debug/modelgate).
//
//	go run . -write RESULTS.md
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	modelgate "github.com/modelgate/modelgate/clients/go"
	"github.com/modelgate/modelgate/clients/go/modelgatev1"
)

type config struct {
	addr    string
	calls   int
	streams int
	tokens  int
	reps    int
	warmup  int
	write   string
	smoke   bool

	gatewayBin string // set by run
	loadBefore string
}

// loadAverage returns the 1-minute load average, or "?" where unknown.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "", "gateway address (default: start $MODELGATE_BIN on a temporary socket)")
	flag.IntVar(&cfg.calls, "calls", 20000, "timed unary calls per repetition and side")
	flag.IntVar(&cfg.streams, "streams", 300, "timed streams per repetition and side")
	flag.IntVar(&cfg.tokens, "tokens", 256, "tokens per stream (mock-tokens)")
	flag.IntVar(&cfg.reps, "reps", 5, "interleaved repetitions (at least 3)")
	flag.IntVar(&cfg.warmup, "warmup", 2000, "untimed calls before each run")
	flag.StringVar(&cfg.write, "write", "", "write the results as Markdown to this file")
	flag.BoolVar(&cfg.smoke, "smoke", false, "run briefly, to check that the benchmark works")
	flag.Parse()
	if cfg.smoke {
		cfg.calls, cfg.streams, cfg.warmup, cfg.reps = 300, 10, 50, 3
	}
	if cfg.reps < 3 {
		cfg.reps = 3
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	cfg.loadBefore = loadAverage()
	if cfg.addr == "" {
		bin := os.Getenv("MODELGATE_BIN")
		if bin == "" {
			bin = filepath.Join("..", "..", ".build", "debug", "modelgate")
		}
		g, err := startGateway(bin)
		if err != nil {
			return fmt.Errorf("starting %s: %w", bin, err)
		}
		defer g.stop()
		cfg.addr, cfg.gatewayBin = g.unixAddr, bin
	}
	ctx := context.Background()
	cl, err := modelgate.Dial(ctx, cfg.addr)
	if err != nil {
		return err
	}
	defer cl.Close()
	raw, err := dialRaw(cfg.addr)
	if err != nil {
		return err
	}
	defer raw.close()

	req := &modelgatev1.ChatRequest{Model: "mock", Messages: []*modelgatev1.Message{{
		Role:  modelgatev1.Role_ROLE_USER,
		Parts: []*modelgatev1.ContentPart{{Part: &modelgatev1.ContentPart_Text{Text: "benchmark"}}},
	}}}
	tokens := fmt.Sprint(cfg.tokens)
	unaryFrames, unaryAt := encodeCall(modelgate.MethodChat, nil, req)
	streamFrames, streamAt := encodeCall(modelgate.MethodChatStream, map[string]string{"mock-tokens": tokens}, req)

	if cfg.gatewayBin == "" {
		cfg.gatewayBin = "(given by -addr)"
	}
	unaryRuns := map[string][]latency{}
	streamRuns := map[string][]float64{}
	var resp modelgatev1.ChatResponse
	var chunk modelgatev1.ChatChunk
	unary := map[string]func() error{
		"raw": func() error {
			_, err := raw.call(unaryFrames, unaryAt, &resp)
			return err
		},
		"raw+marshal": func() error {
			frames, at := encodeCall(modelgate.MethodChat, nil, req)
			_, err := raw.call(frames, at, &resp)
			return err
		},
		"client": func() error {
			_, err := cl.Chat(ctx, req)
			return err
		},
	}
	stream := map[string]func() (int, error){
		"raw": func() (int, error) {
			n, err := raw.call(streamFrames, streamAt, &chunk)
			return n - 1, err // the final chunk carries no token
		},
		"client": func() (int, error) {
			cs, err := cl.ChatStream(ctx, req, modelgate.WithMetadata("mock-tokens", tokens))
			if err != nil {
				return 0, err
			}
			n := 0
			for {
				err := cs.RecvMsg(&chunk)
				if err == io.EOF {
					return n - 1, nil
				}
				if err != nil {
					return n, err
				}
				n++
			}
		},
	}
	for rep := 0; rep < cfg.reps; rep++ {
		lat, err := timeUnary(unary, cfg.warmup, cfg.calls, rep)
		if err != nil {
			return err
		}
		tps, err := timeStreams(stream, cfg.tokens, cfg.streams, rep)
		if err != nil {
			return err
		}
		for side, l := range lat {
			unaryRuns[side] = append(unaryRuns[side], l)
		}
		for side, r := range tps {
			streamRuns[side] = append(streamRuns[side], r)
		}
	}
	report := buildReport(cfg, unaryRuns, streamRuns)
	fmt.Print(report)
	if cfg.write != "" {
		return os.WriteFile(cfg.write, []byte(report), 0o644)
	}
	return nil
}

// latency is one run's percentiles.
type latency struct{ p50, p99 time.Duration }

// blockSize is how many calls one side makes before the other takes its turn:
// alternating call by call makes drift in the gateway or the machine affect
// both sides alike.
const blockSize = 1

// order returns the sides (sorted names) in the order they take turn b of
// repetition rep: a rotation, so that no side always follows the same one.
func order(sides []string, rep, b int) []string {
	sort.Strings(sides)
	out := make([]string, len(sides))
	for i := range sides {
		out[i] = sides[(i+rep+b)%len(sides)]
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}

// timeUnary times n calls per side, interleaved in blocks, after warm-up.
func timeUnary(calls map[string]func() error, warmup, n, rep int) (map[string]latency, error) {
	d := map[string][]time.Duration{}
	for side, call := range calls {
		for i := 0; i < warmup; i++ {
			if err := call(); err != nil {
				return nil, fmt.Errorf("%s unary: %w", side, err)
			}
		}
		d[side] = make([]time.Duration, 0, n)
	}
	for b := 0; b*blockSize < n; b++ {
		for _, side := range order(keys(calls), rep, b) {
			call := calls[side]
			for i := 0; i < blockSize && len(d[side]) < n; i++ {
				start := time.Now()
				if err := call(); err != nil {
					return nil, fmt.Errorf("%s unary: %w", side, err)
				}
				d[side] = append(d[side], time.Since(start))
			}
		}
	}
	out := map[string]latency{}
	for side, v := range d {
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		out[side] = latency{p50: v[len(v)/2], p99: v[len(v)*99/100]}
	}
	return out, nil
}

// timeStreams returns each side's median tokens/s over n streams, the sides
// alternating stream by stream.
func timeStreams(streams map[string]func() (int, error), tokens, n, rep int) (map[string]float64, error) {
	rates := map[string][]float64{}
	for side, stream := range streams {
		if _, err := stream(); err != nil { // warm-up
			return nil, fmt.Errorf("%s stream: %w", side, err)
		}
	}
	for i := 0; i < n; i++ {
		for _, side := range order(keys(streams), rep, i) {
			start := time.Now()
			got, err := streams[side]()
			if err != nil {
				return nil, fmt.Errorf("%s stream: %w", side, err)
			}
			if got != tokens {
				return nil, fmt.Errorf("%s stream delivered %d token chunks, want %d", side, got, tokens)
			}
			rates[side] = append(rates[side], float64(tokens)/time.Since(start).Seconds())
		}
	}
	out := map[string]float64{}
	for side, v := range rates {
		out[side] = median(v)
	}
	return out, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianDur(runs []latency, pick func(latency) time.Duration) time.Duration {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = float64(pick(r))
	}
	return time.Duration(median(v))
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }

func buildReport(cfg config, unary map[string][]latency, streams map[string][]float64) string {
	p50 := func(l latency) time.Duration { return l.p50 }
	p99 := func(l latency) time.Duration { return l.p99 }
	rawP50, cliP50 := medianDur(unary["raw"], p50), medianDur(unary["client"], p50)
	rawP99, cliP99 := medianDur(unary["raw"], p99), medianDur(unary["client"], p99)
	mP50, mP99 := medianDur(unary["raw+marshal"], p50), medianDur(unary["raw+marshal"], p99)
	rawTPS, cliTPS := median(streams["raw"]), median(streams["client"])
	var b strings.Builder
	fmt.Fprintf(&b, "# Go client benchmark\n\n")
	if cfg.smoke {
		fmt.Fprintf(&b, "**Smoke run** (too short to be meaningful).\n\n")
	}
	env := ""
	if bin := os.Getenv("MODELGATE_BIN"); bin != "" {
		env = "MODELGATE_BIN=" + bin + " "
	}
	fmt.Fprintf(&b, "Command: `cd bench/go && %s../../clients/go/offline.sh . go run . %s`\n", env, strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&b, "(-calls %d -streams %d -tokens %d -reps %d -warmup %d)\n\n", cfg.calls, cfg.streams, cfg.tokens, cfg.reps, cfg.warmup)
	fmt.Fprintf(&b, "Machine: %s/%s, %d CPUs, %s, load average before/after the run %s / %s; gateway: `%s`, mock model, Unix socket.\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), cfg.loadBefore, loadAverage(), cfg.gatewayBin)
	fmt.Fprintf(&b, "Each repetition alternates the sides call by call and stream by stream, after a warm-up; ")
	fmt.Fprintf(&b, "the figures are medians over %d repetitions of each repetition's percentiles.\n\n", cfg.reps)
	fmt.Fprintf(&b, "## Unary Chat round trip (mock, 16 tokens, one call at a time)\n\n")
	fmt.Fprintf(&b, "| | p50 | p99 |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| raw socket, request encoded once | %s | %s |\n", us(rawP50), us(rawP99))
	fmt.Fprintf(&b, "| raw socket, request encoded per call | %s | %s |\n", us(mP50), us(mP99))
	fmt.Fprintf(&b, "| client | %s | %s |\n", us(cliP50), us(cliP99))
	fmt.Fprintf(&b, "| **added by the client** (vs. encoded once) | **%s** | %s |\n", us(cliP50-rawP50), us(cliP99-rawP99))
	fmt.Fprintf(&b, "| added by the client (vs. encoded per call) | %s | %s |\n\n", us(cliP50-mP50), us(cliP99-mP99))
	diff := func(base string) time.Duration {
		d := make([]float64, len(unary[base]))
		for i := range d {
			d[i] = float64(unary["client"][i].p50 - unary[base][i].p50)
		}
		return time.Duration(median(d))
	}
	fmt.Fprintf(&b, "Paired estimate, the median over repetitions of (client p50 − raw p50) within the same repetition: ")
	fmt.Fprintf(&b, "**%s** vs. the raw client encoding per call, %s vs. encoding once.\n\n", us(diff("raw+marshal")), us(diff("raw")))
	fmt.Fprintf(&b, "Per repetition (p50 raw / raw+marshal / client): ")
	for i := range unary["raw"] {
		fmt.Fprintf(&b, "%s / %s / %s; ", us(unary["raw"][i].p50), us(unary["raw+marshal"][i].p50), us(unary["client"][i].p50))
	}
	fmt.Fprintf(&b, "\n\n## Streamed tokens (%d-token mock stream, `mock-tokens` metadata)\n\n", cfg.tokens)
	fmt.Fprintf(&b, "| | tokens/s (median per stream) | µs per stream |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| raw socket | %.0f | %.0f |\n", rawTPS, float64(cfg.tokens)/rawTPS*1e6)
	fmt.Fprintf(&b, "| client | %.0f | %.0f |\n", cliTPS, float64(cfg.tokens)/cliTPS*1e6)
	fmt.Fprintf(&b, "| client / raw | %.2f | |\n\n", cliTPS/rawTPS)
	fmt.Fprintf(&b, "The raw baseline hand-encodes the preface, CALL and MESSAGE frames on a net.Conn, sends one call at a time ")
	fmt.Fprintf(&b, "and reads frames until END, decoding each response payload into a reused message (as any client must). ")
	fmt.Fprintf(&b, "The client side is `Client.Chat` and `ChatStream` + `RecvMsg` into a reused chunk.\n")
	return b.String()
}
