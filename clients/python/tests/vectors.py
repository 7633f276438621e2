"""Reader for docs/protocol-vectors/*.hex (docs/protocol.md §8)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
VECTOR_DIR = REPO / "docs" / "protocol-vectors"

_FRAME_RE = re.compile(r"^(?P<type>[A-Z]+|0x[0-9A-Fa-f]{2})\((?P<args>[^)]*)\)$")


@dataclass
class ExpectedFrame:
    type_name: str
    type_code: int | None  # for "0x42"-style names
    stream_id: int
    flags: list[str]


@dataclass
class Vector:
    name: str
    description: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def direction(self) -> str:
        return self.headers["direction"]

    @property
    def preface(self) -> bool:
        return self.headers.get("preface") == "yes"

    @property
    def expect(self) -> str | None:
        return self.headers.get("expect")

    @property
    def frames(self) -> list[ExpectedFrame] | None:
        text = self.headers.get("frames")
        if text is None:
            return None
        out = []
        for token in text.split():
            m = _FRAME_RE.match(token)
            assert m, f"{self.name}: bad frames token {token!r}"
            args = m["args"].split(",")
            tname = m["type"]
            out.append(
                ExpectedFrame(
                    type_name=tname,
                    type_code=int(tname, 16) if tname.startswith("0x") else None,
                    stream_id=int(args[0]),
                    flags=args[1:],
                )
            )
        return out


def load(path: Path) -> Vector:
    desc = ""
    headers: dict[str, str] = {}
    hex_parts: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            body = line[1:].strip()
            m = re.match(r"^([a-z]+): (.*)$", body)
            if m and m[1] in {"direction", "frames", "message", "json", "expect", "preface"}:
                headers[m[1]] = m[2]
            elif not desc:
                desc = body
        else:
            hex_parts.append(line)
    data = bytes.fromhex("".join("".join(hex_parts).split()))
    return Vector(name=path.stem, description=desc, data=data, headers=headers)


def all_vectors() -> list[Vector]:
    return [load(p) for p in sorted(VECTOR_DIR.glob("*.hex"))]
