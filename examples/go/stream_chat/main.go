// Command stream_chat streams a chat completion from a ModelGate gateway.
//
//	go run ./stream_chat -model mock "Tell me about foxes"
//
// The gateway address comes from -addr, else $MODELGATE_ADDRESS, else
// unix:///tmp/modelgate.sock.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"time"

	modelgate "github.com/modelgate/modelgate/clients/go"
	"github.com/modelgate/modelgate/clients/go/modelgatev1"
)

func main() {
	addr := flag.String("addr", "", "gateway address (unix:///path or tcp://host:port)")
	model := flag.String("model", "mock", "model name")
	flag.Parse()
	prompt := strings.Join(flag.Args(), " ")
	if prompt == "" {
		prompt = "Hello!"
	}

	// Ctrl-C cancels the context, which cancels the call on the gateway.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	client, err := modelgate.Dial(ctx, *addr)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	stream, err := client.ChatStream(ctx, &modelgatev1.ChatRequest{
		Model: *model,
		Messages: []*modelgatev1.Message{{
			Role:  modelgatev1.Role_ROLE_USER,
			Parts: []*modelgatev1.ContentPart{{Part: &modelgatev1.ContentPart_Text{Text: prompt}}},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Close()
	for {
		chunk, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatalf("\n%v (code %v)", err, modelgate.CodeOf(err))
		}
		fmt.Print(chunk.GetText())
	}
	u := stream.Usage()
	fmt.Printf("\n[%d input + %d output tokens]\n", u.GetInputTokens(), u.GetOutputTokens())
}
