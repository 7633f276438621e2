package modelgate

import (
	"os"
	"testing"

	"github.com/modelgate/modelgate/clients/go/modelgatev1"
	"google.golang.org/protobuf/proto"
)

func TestProbe(t *testing.T) {
	if os.Getenv("PROBE") == "" {
		t.Skip()
	}
	rc := dialRaw(t, true)
	md := map[string]string{}
	if v := os.Getenv("PROBE_MD"); v != "" {
		md["mock-error"] = v
	}
	model := os.Getenv("PROBE_MODEL")
	call := appendCallHeader(nil, os.Getenv("PROBE_METHOD"), 0, md, "probe")
	rc.writeFrame(frameCall, 0, 1, call)
	req, _ := proto.Marshal(userRequest(model, "x"))
	rc.writeFrame(frameMessage, flagEndStream, 1, req)
	for {
		f := rc.read()
		t.Logf("%s len=%d", f.describe(), f.Length)
		if f.Type == frameEnd {
			t.Logf("%v", endStatus(t, f))
			return
		}
		if f.Type == frameMessage {
			var c modelgatev1.ChatChunk
			proto.Unmarshal(f.payload, &c)
			t.Logf("  %v", &c)
		}
	}
}
