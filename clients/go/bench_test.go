package modelgate

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
)

// Go benchmarks against the shared gateway, for allocation counts and quick
// comparisons (`go test -run X -bench . -benchmem`). bench/go has the
// benchmark against a raw-socket baseline.

func benchClient(b *testing.B) *Client {
	b.Helper()
	if shared == nil {
		b.Skip(skipReason)
	}
	cl, err := Dial(context.Background(), shared.unixAddr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cl.Close() })
	return cl
}

func BenchmarkChatUnary(b *testing.B) {
	cl := benchClient(b)
	req := userRequest("mock", "benchmark")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := cl.Chat(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatUnaryParallel(b *testing.B) {
	cl := benchClient(b)
	req := userRequest("mock", "benchmark")
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cl.Chat(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkChatStream256(b *testing.B) {
	cl := benchClient(b)
	req := userRequest("mock", "benchmark")
	ctx := context.Background()
	var chunk modelgatev1.ChatChunk
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs, err := cl.ChatStream(ctx, req, WithMetadata("mock-tokens", "256"))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if err := cs.RecvMsg(&chunk); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkChatUnaryWithDeadline(b *testing.B) {
	cl := benchClient(b)
	req := userRequest("mock", "benchmark")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if _, err := cl.Chat(ctx, req); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
}
