"""Result types and the state shared by the sync and async chat streams."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from google.protobuf.message import DecodeError, Message

from ._core import StreamState
from .errors import InternalError, ModelGateError
from .v1 import gateway_pb2 as gw

if TYPE_CHECKING:
    from .client import _CallOptions

__all__ = ["EmbedResult", "StreamAccumulator", "decode_response", "cost_usd"]

M = TypeVar("M", bound=Message)


def decode_response(cls: type[M], payload: bytes, st: StreamState) -> M:
    try:
        return cls.FromString(payload)
    except (DecodeError, ValueError) as exc:
        raise InternalError(f"undecodable {cls.DESCRIPTOR.name} on stream {st.id}: {exc}") from None


def cost_usd(usage: gw.Usage | None) -> float | None:
    """The call's cost in USD, or None when the model has no price configured."""
    if usage is None or not usage.HasField("cost_usd"):
        return None
    return usage.cost_usd


@dataclass(slots=True)
class EmbedResult:
    """The answer of :meth:`Client.embed`: one vector (plain ``list[float]``) per input, in
    input order, plus the raw ``EmbedResponse``."""

    vectors: list[list[float]]
    model: str
    provider: str
    usage: gw.Usage
    response: gw.EmbedResponse = field(repr=False)

    @classmethod
    def from_proto(cls, resp: gw.EmbedResponse) -> EmbedResult:
        embs = sorted(resp.embeddings, key=lambda e: e.index)
        return cls(
            vectors=[list(e.values) for e in embs],
            model=resp.model,
            provider=resp.provider,
            usage=resp.usage,
            response=resp,
        )

    def __len__(self) -> int:
        return len(self.vectors)

    def __getitem__(self, i: int) -> list[float]:
        return self.vectors[i]


class StreamAccumulator:
    """Checks chunk order and assembles the streamed response (text is joined on demand)."""

    __slots__ = ("next_sequence", "chunks", "final")

    def __init__(self) -> None:
        self.next_sequence = 0
        self.chunks: list[gw.ChatChunk] = []
        self.final: gw.ChatChunk | None = None

    def add(self, chunk: gw.ChatChunk, st: StreamState) -> None:
        if chunk.sequence != self.next_sequence:
            raise sequence_error(chunk, self.next_sequence, st)
        self.next_sequence += 1
        self.chunks.append(chunk)
        if chunk.final:
            self.final = chunk

    @property
    def text(self) -> str:
        return "".join([c.text for c in self.chunks])

    def response(self) -> gw.ChatResponse:
        chunks = self.chunks
        resp = gw.ChatResponse(text=self.text, reasoning="".join([c.reasoning for c in chunks]))
        if chunks:
            first = chunks[0]
            resp.id = first.id
            resp.model = first.model
            resp.provider = first.provider
        final = self.final
        if final is not None:
            resp.tool_calls.extend(final.tool_calls)
            resp.finish_reason = final.finish_reason
            resp.provider_finish_reason = final.provider_finish_reason
            if final.HasField("usage"):
                resp.usage.CopyFrom(final.usage)
        return resp


def sequence_error(chunk: gw.ChatChunk, expected: int, st: StreamState) -> InternalError:
    return InternalError(
        f"stream {st.id}: chunk sequence {chunk.sequence}, expected {expected} "
        "(the gateway broke the contiguous-sequence rule)"
    )


class StreamResults:
    """What a chat stream has received so far; shared by the sync and asyncio streams."""

    _done: bool
    _cancelled: bool
    _error: ModelGateError | None
    _acc: StreamAccumulator
    _opts: _CallOptions

    @property
    def done(self) -> bool:
        """The stream has ended (completed, failed or cancelled)."""
        return self._done

    @property
    def text(self) -> str:
        """The text received so far."""
        return self._acc.text

    @property
    def final_chunk(self) -> gw.ChatChunk | None:
        """The chunk with ``final`` set, once received."""
        return self._acc.final

    @property
    def usage(self) -> gw.Usage | None:
        """Token usage from the final chunk, once received."""
        final = self._acc.final
        return final.usage if final is not None and final.HasField("usage") else None

    @property
    def finish_reason(self) -> gw.FinishReason | None:
        """Why generation stopped, once the final chunk arrived."""
        final = self._acc.final
        return final.finish_reason if final is not None else None

    @property
    def response(self) -> gw.ChatResponse | None:
        """The assembled response after the stream completed successfully, else None."""
        if not self._done or self._error is not None or self._cancelled:
            return None
        return self._acc.response()

    @property
    def request_id(self) -> str | None:
        """The request id given to the call, if any."""
        return self._opts.request_id
