package modelgate

import (
	"net"
	"os"
	"strings"
)

// DefaultAddress is the gateway's default Unix socket, used when neither an
// address nor the MODELGATE_ADDRESS environment variable is given.
const DefaultAddress = "unix:///tmp/modelgate.sock"

// AddressEnv is the environment variable that supplies the default address.
const AddressEnv = "MODELGATE_ADDRESS"

// target is a parsed gateway address.
type target struct {
	network string // "unix" or "tcp"
	addr    string // socket path or host:port
	raw     string // as given, for messages
}

// resolveAddress applies the defaults to an empty address.
func resolveAddress(address string) string {
	if address != "" {
		return address
	}
	if env := os.Getenv(AddressEnv); env != "" {
		return env
	}
	return DefaultAddress
}

// parseAddress accepts unix:///abs/path, unix:/abs/path, unix:rel/path and
// tcp://host:port (docs/protocol.md §6).
func parseAddress(address string) (target, error) {
	bad := func(why string) (target, error) {
		return target{}, newLocalError(InvalidArgument, 0, false, nil,
			"invalid gateway address %q: %s (want unix:///path, unix:path or tcp://host:port)", address, why)
	}
	switch {
	case strings.HasPrefix(address, "unix://"):
		path := strings.TrimPrefix(address, "unix://")
		if !strings.HasPrefix(path, "/") {
			return bad("a unix:// address needs an absolute path (three slashes)")
		}
		return target{network: "unix", addr: path, raw: address}, nil
	case strings.HasPrefix(address, "unix:"):
		path := strings.TrimPrefix(address, "unix:")
		if path == "" {
			return bad("empty socket path")
		}
		return target{network: "unix", addr: path, raw: address}, nil
	case strings.HasPrefix(address, "tcp://"):
		hostport := strings.TrimSuffix(strings.TrimPrefix(address, "tcp://"), "/")
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return bad(err.Error())
		}
		if host == "" || port == "" {
			return bad("host and port are both required")
		}
		return target{network: "tcp", addr: hostport, raw: address}, nil
	}
	return bad("unknown scheme")
}
