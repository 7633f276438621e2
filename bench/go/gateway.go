package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// gateway is a `modelgate serve` process started for the benchmark.
type gateway struct {
	cmd      *exec.Cmd
	dir      string
	unixAddr string
	exited   chan struct{}
}

// startGateway runs bin with a configuration serving the mock model on a
// temporary Unix socket (and TCP port 0), and waits for its serving line.
func startGateway(bin string) (*gateway, error) {
	dir, err := os.MkdirTemp("", "mgbench")
	if err != nil {
		return nil, err
	}
	config := fmt.Sprintf(`listeners:
  unix:
    path: %s
  tcp:
    host: 127.0.0.1
    port: 0
models:
  mock:
    provider: mock
    mock:
      tokens: 16
`, filepath.Join(dir, "gw.sock"))
	configPath := filepath.Join(dir, "modelgate.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--config", configPath)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	g := &gateway{cmd: cmd, dir: dir, exited: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "modelgate serving ") {
				ready <- line
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { cmd.Wait(); close(g.exited) }()
	select {
	case line := <-ready:
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "unix:") {
				g.unixAddr = f
			}
		}
		if g.unixAddr == "" {
			g.stop()
			return nil, fmt.Errorf("no unix address in %q", line)
		}
		return g, nil
	case <-g.exited:
		os.RemoveAll(dir)
		return nil, fmt.Errorf("gateway exited before serving: %v", cmd.ProcessState)
	case <-time.After(60 * time.Second):
		g.stop()
		return nil, fmt.Errorf("gateway did not start within 60 s")
	}
}

func (g *gateway) stop() {
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(30 * time.Second):
		g.cmd.Process.Kill()
		<-g.exited
	}
	os.RemoveAll(g.dir)
}
