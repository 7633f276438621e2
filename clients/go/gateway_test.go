package modelgate

// The integration tests run against the real gateway binary (never a fake
// gateway). TestMain starts the fake upstream provider and one shared gateway
// on a temporary Unix socket and TCP port 0; tests that restart the gateway
// start their own.
//
// Binaries: $MODELGATE_BIN (default <repo>/.build/debug/modelgate) and
// $MODELGATE_FAKE_UPSTREAM_BIN (default <repo>/.build/debug/modelgate-fake-upstream).
// Without the gateway binary the integration tests are skipped, unless
// MODELGATE_REQUIRE_GATEWAY=1 (set by run-tests.sh), which makes them fail.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	repoRoot   = filepath.Join("..", "..")
	shared     *gateway      // the gateway most tests use
	fake       *fakeUpstream // nil when the fake upstream binary is missing
	skipReason string        // why integration tests skip, when shared is nil
	// noProviders says why the gateway runs without the provider-backed models
	// (empty when it serves them).
	noProviders string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mggo")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	fakeBin := binPath("MODELGATE_FAKE_UPSTREAM_BIN", "modelgate-fake-upstream")
	if _, err := os.Stat(fakeBin); err == nil {
		fake, err = startFakeUpstream(fakeBin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting the fake upstream:", err)
			if os.Getenv("MODELGATE_REQUIRE_FAKE_UPSTREAM") == "1" {
				return 1
			}
			fmt.Fprintln(os.Stderr, "note: tests that need the fake upstream are skipped")
			fake = nil
		} else {
			defer fake.stop()
		}
	} else {
		fmt.Fprintf(os.Stderr, "note: %s not found; tests that need the fake upstream are skipped\n", fakeBin)
	}

	gwBin := binPath("MODELGATE_BIN", "modelgate")
	if _, err := os.Stat(gwBin); err != nil {
		skipReason = fmt.Sprintf("gateway binary %s not found (build it with `swift build --product modelgate` or set MODELGATE_BIN)", gwBin)
		if os.Getenv("MODELGATE_REQUIRE_GATEWAY") == "1" {
			fmt.Fprintln(os.Stderr, "FAIL:", skipReason)
			return 1
		}
		fmt.Fprintln(os.Stderr, "note: integration tests skipped:", skipReason)
		return m.Run()
	}
	shared, err = startGateway(gwBin, filepath.Join(dir, "shared"), gatewayConfig{})
	if err != nil && fake != nil && strings.Contains(err.Error(), "is not available") {
		// This gateway build cannot use the fake upstream as an OpenAI provider yet.
		fmt.Fprintln(os.Stderr, "note: the gateway refuses the provider-backed models; tests that need a provider are skipped:", err)
		if os.Getenv("MODELGATE_REQUIRE_FAKE_UPSTREAM") == "1" {
			return 1
		}
		noProviders = fmt.Sprintf("the gateway does not serve the fake upstream as a provider: %v", err)
		shared, err = startGateway(gwBin, filepath.Join(dir, "shared"), gatewayConfig{})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the gateway:", err)
		return 1
	}
	code := m.Run()
	if err := shared.stop(syscall.SIGTERM); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the shared gateway:", err)
		if code == 0 {
			code = 1
		}
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- shared gateway output ---\n%s\n", shared.output())
	}
	return code
}

func binPath(env, name string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	abs, _ := filepath.Abs(filepath.Join(repoRoot, ".build", "debug", name))
	return abs
}

// requireGateway skips the test when no gateway runs.
func requireGateway(t *testing.T) *gateway {
	t.Helper()
	if shared == nil {
		t.Skip(skipReason)
	}
	return shared
}

// requireFake skips the test when the fake upstream is missing.
func requireFake(t *testing.T) *fakeUpstream {
	t.Helper()
	requireGateway(t)
	if fake == nil {
		t.Skip("fake upstream not available")
	}
	if noProviders != "" {
		t.Skip(noProviders)
	}
	return fake
}

// gatewayConfig varies the generated configuration.
type gatewayConfig struct {
	drainTimeoutMS int
	unixPath       string // reuse a socket path (restarts)
}

// gateway is a running `modelgate serve` process.
type gateway struct {
	bin, dir, configPath string
	unixAddr, tcpAddr    string
	socketPath           string
	cmd                  *exec.Cmd
	exited               chan struct{}
	mu                   sync.Mutex
	out                  bytes.Buffer
}

func (g *gateway) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.out.Write(p)
}

func (g *gateway) output() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.out.String()
}

func writeConfig(dir string, cfg gatewayConfig) (configPath, socketPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	socketPath = cfg.unixPath
	if socketPath == "" {
		socketPath = filepath.Join(dir, "gw.sock")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "listeners:\n  unix:\n    path: %s\n  tcp:\n    host: 127.0.0.1\n    port: 0\n", socketPath)
	if cfg.drainTimeoutMS > 0 {
		fmt.Fprintf(&b, "shutdown:\n  drain_timeout_ms: %d\n", cfg.drainTimeoutMS)
	}
	withProviders := fake != nil && noProviders == ""
	if withProviders {
		fmt.Fprintf(&b, "providers:\n  fake:\n    kind: openai\n    base_url: %s/v1\n", fake.url)
	}
	b.WriteString("models:\n  mock:\n    provider: mock\n    mock:\n      tokens: 16\n")
	if withProviders {
		b.WriteString("  slow:\n    provider: fake\n    upstream_model: \"tokens=1000;pace_ms=20\"\n")
		b.WriteString("  stall:\n    provider: fake\n    upstream_model: \"stall_headers\"\n")
		b.WriteString("  fake-chat:\n    provider: fake\n    upstream_model: \"tokens=8\"\n")
		b.WriteString("  fake-embed:\n    provider: fake\n    upstream_model: text-embedding-test\n    kind: embedding\n")
		for status := range upstreamStatuses {
			scenario := fmt.Sprintf("status=%d", status)
			if status == 429 {
				scenario += ";retry_after=2;error_code=rate_limit_exceeded;error_type=rate_limit_error"
			}
			fmt.Fprintf(&b, "  up-%d:\n    provider: fake\n    upstream_model: %q\n", status, scenario)
		}
	}
	configPath = filepath.Join(dir, "modelgate.yaml")
	return configPath, socketPath, os.WriteFile(configPath, []byte(b.String()), 0o644)
}

// startGateway writes a configuration into dir and starts the gateway on it.
func startGateway(bin, dir string, cfg gatewayConfig) (*gateway, error) {
	configPath, socketPath, err := writeConfig(dir, cfg)
	if err != nil {
		return nil, err
	}
	g := &gateway{bin: bin, dir: dir, configPath: configPath, socketPath: socketPath}
	return g, g.start()
}

// start runs the gateway and waits for its "modelgate serving" line.
func (g *gateway) start() error {
	cmd := exec.Command(g.bin, "serve", "--config", g.configPath)
	cmd.Stderr = g
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	g.cmd = cmd
	g.exited = make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(g, line)
			if !sent && strings.HasPrefix(line, "modelgate serving ") {
				ready <- line
				sent = true
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		cmd.Wait()
		close(g.exited)
	}()
	select {
	case line := <-ready:
		for _, f := range strings.Fields(strings.TrimPrefix(line, "modelgate serving ")) {
			switch {
			case strings.HasPrefix(f, "unix:"):
				g.unixAddr = f
			case strings.HasPrefix(f, "tcp://"):
				g.tcpAddr = f
			}
		}
		if g.unixAddr == "" || g.tcpAddr == "" {
			g.stop(syscall.SIGKILL)
			return fmt.Errorf("unexpected ready line %q", line)
		}
		return nil
	case <-g.exited:
		return fmt.Errorf("gateway exited before serving (%v):\n%s", cmd.ProcessState, g.output())
	case <-time.After(60 * time.Second):
		g.stop(syscall.SIGKILL)
		return fmt.Errorf("gateway did not print its serving line within 60 s:\n%s", g.output())
	}
}

// stop signals the gateway and waits for it to exit (killing it after 60 s).
func (g *gateway) stop(sig syscall.Signal) error {
	if g.cmd == nil {
		return nil
	}
	g.cmd.Process.Signal(sig)
	select {
	case <-g.exited:
	case <-time.After(60 * time.Second):
		g.cmd.Process.Kill()
		<-g.exited
		return fmt.Errorf("gateway did not exit within 60 s of %v", sig)
	}
	if sig == syscall.SIGTERM && !g.cmd.ProcessState.Success() {
		return fmt.Errorf("gateway exited with %v after SIGTERM", g.cmd.ProcessState)
	}
	return nil
}

// fakeUpstream is a running modelgate-fake-upstream.
type fakeUpstream struct {
	cmd *exec.Cmd
	url string
}

func startFakeUpstream(bin string) (*fakeUpstream, error) {
	fixtures, _ := filepath.Abs(filepath.Join(repoRoot, "Tests", "Fixtures", "upstream"))
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", "0", "--fixtures", fixtures)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan string, 1)
	var firstLines []string
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "fake-upstream listening ") {
				ready <- strings.TrimSpace(strings.TrimPrefix(line, "fake-upstream listening "))
			} else if len(firstLines) < 5 {
				firstLines = append(firstLines, line)
			}
		}
		io.Copy(io.Discard, stdout)
		close(ready)
	}()
	select {
	case url, ok := <-ready:
		if !ok {
			cmd.Wait()
			return nil, fmt.Errorf("%s exited (%v) without its listening line; output: %q", bin, cmd.ProcessState, firstLines)
		}
		return &fakeUpstream{cmd: cmd, url: url}, nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("fake upstream did not print its listening line")
	}
}

func (f *fakeUpstream) stop() {
	f.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { f.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		f.cmd.Process.Kill()
		<-done
	}
}

// fakeEvent is one entry of GET /_fake/events.
type fakeEvent struct {
	Seq       int    `json:"seq"`
	RequestID string `json:"request_id"`
	Path      string `json:"path"`
	Model     string `json:"model"`
	Outcome   string `json:"outcome"`
}

// events returns the fake upstream's events for one request id.
func (f *fakeUpstream) events(requestID string) ([]fakeEvent, error) {
	resp, err := http.Get(f.url + "/_fake/events?request_id=" + requestID)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /_fake/events: %s: %s", resp.Status, body)
	}
	var list []fakeEvent
	if err := json.Unmarshal(body, &list); err == nil {
		return list, nil
	}
	var wrapped struct {
		Events []fakeEvent `json:"events"`
	}
	if err := json.Unmarshal(body, &wrapped); err != nil {
		return nil, fmt.Errorf("GET /_fake/events: %v in %s", err, body)
	}
	return wrapped.Events, nil
}

// waitOutcome polls the fake upstream until the request's outcome is want. It
// waits as long as the test's context allows; it asserts no timing.
func (f *fakeUpstream) waitOutcome(t *testing.T, requestID, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var last []fakeEvent
	for {
		evs, err := f.events(requestID)
		if err != nil {
			t.Fatal(err)
		}
		last = evs
		for _, e := range evs {
			if e.Outcome == want {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("request %s never reached outcome %q at the fake upstream; events: %+v", requestID, want, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
