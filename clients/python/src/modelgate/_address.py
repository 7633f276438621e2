"""Gateway addresses (docs/protocol.md §6)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

DEFAULT_ADDRESS = "unix:///tmp/modelgate.sock"
ENV_ADDRESS = "MODELGATE_ADDRESS"


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed gateway address: a Unix socket path or a TCP host and port."""

    text: str
    unix_path: str | None = None
    host: str | None = None
    port: int = 0

    @property
    def is_unix(self) -> bool:
        return self.unix_path is not None

    def __str__(self) -> str:
        return self.text

    def connect(self, timeout: float | None) -> socket.socket:
        """Opens a connected, blocking socket (``timeout`` bounds only the connect)."""
        if self.unix_path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(self.unix_path)
            except BaseException:
                sock.close()
                raise
        else:
            assert self.host is not None
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        return sock


def parse_address(address: str | None = None) -> Address:
    """Parses ``unix:///abs/path``, ``unix:/abs/path``, ``unix:relative/path`` or
    ``tcp://host:port``. ``None`` means ``$MODELGATE_ADDRESS``, else the gateway's default socket.
    """
    if address is None:
        address = os.environ.get(ENV_ADDRESS) or DEFAULT_ADDRESS
    text = address.strip()
    if text.startswith("unix:"):
        rest = text[len("unix:"):]
        if rest.startswith("//"):
            # unix://[authority]/path: only an empty authority is meaningful ("unix:///abs").
            rest = rest[2:]
            if not rest.startswith("/"):
                raise ValueError(f"invalid address {address!r}: use unix:///absolute/path or unix:relative/path")
        if not rest:
            raise ValueError(f"invalid address {address!r}: empty socket path")
        return Address(text=text, unix_path=rest)
    if text.startswith("tcp://"):
        hostport = text[len("tcp://"):].rstrip("/")
        if hostport.startswith("["):  # [v6]:port
            close = hostport.find("]")
            if close < 0 or hostport[close + 1 : close + 2] != ":":
                raise ValueError(f"invalid address {address!r}: expected tcp://[v6addr]:port")
            host, port_text = hostport[1:close], hostport[close + 2 :]
        else:
            host, sep, port_text = hostport.rpartition(":")
            if not sep:
                raise ValueError(f"invalid address {address!r}: expected tcp://host:port")
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"invalid address {address!r}: bad port {port_text!r}") from None
        if not host or not 0 < port < 65536:
            raise ValueError(f"invalid address {address!r}: expected tcp://host:port")
        return Address(text=text, host=host, port=port)
    raise ValueError(f"invalid address {address!r}: expected unix:PATH or tcp://host:port")
