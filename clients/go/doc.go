// Package modelgate is the Go client of the ModelGate AI model gateway.
//
// A Client holds one connection to the gateway (a Unix-domain socket or TCP) and
// multiplexes every call made through it; it is safe for concurrent use. Calls
// take a context.Context: its deadline becomes the call's deadline on the gateway
// and is also enforced locally, and cancelling it cancels the call on the gateway,
// including the request to the model provider.
//
//	client, err := modelgate.Dial(ctx, "unix:///tmp/modelgate.sock")
//	if err != nil { ... }
//	defer client.Close()
//	resp, err := client.Chat(ctx, &modelgatev1.ChatRequest{Model: "mock", Messages: ...})
//
// Streamed chat is read with a Recv loop, like a gRPC stream:
//
//	stream, err := client.ChatStream(ctx, req)
//	if err != nil { ... }
//	defer stream.Close()
//	for {
//		chunk, err := stream.Recv()
//		if err == io.EOF {
//			break // the gateway ended the stream with status OK
//		}
//		if err != nil {
//			return err // a *modelgate.Error
//		}
//		fmt.Print(chunk.GetText())
//	}
//
// Every failure is reported as a *Error carrying a gRPC-style Code and, for errors
// the gateway reports, its typed modelgatev1.ErrorDetail. Use errors.As or CodeOf.
//
// The wire protocol is specified in docs/protocol.md of the ModelGate repository.
package modelgate
