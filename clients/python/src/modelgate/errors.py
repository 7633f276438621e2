"""Exceptions raised by the ModelGate client.

Every failed call raises a subclass of :class:`ModelGateError`, one class per gRPC status code
(``docs/protocol.md`` §3.2). The gateway's typed detail is available as
:attr:`ModelGateError.details`.

:class:`CancelledError` here is the *call's* status ``CANCELLED`` reported by the gateway. It is
an ordinary :class:`Exception` and deliberately unrelated to :class:`asyncio.CancelledError`, which
the async client re-raises untouched when *your task* is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from .v1 import gateway_pb2 as _gw

__all__ = [
    "ErrorDetails",
    "ModelGateError",
    "CancelledError",
    "UnknownError",
    "InvalidArgumentError",
    "DeadlineExceededError",
    "NotFoundError",
    "AlreadyExistsError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "FailedPreconditionError",
    "AbortedError",
    "OutOfRangeError",
    "UnimplementedError",
    "InternalError",
    "UnavailableError",
    "DataLossError",
    "UnauthenticatedError",
    "error_for_status",
]


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """The gateway's typed error detail (``ErrorDetail`` in ``gateway.proto``).

    ``kind`` is the ``ErrorKind`` name without its prefix (``"RATE_LIMITED"``), or ``""`` when the
    error arose in the client (connection failure, local deadline). ``retry_after`` is in
    seconds, ``None`` when unknown.
    """

    kind: str = ""
    retryable: bool = False
    retry_after: float | None = None
    provider: str = ""
    upstream_status: int = 0
    upstream_message: str = ""
    upstream_code: str = ""
    request_id: str = ""

    @classmethod
    def from_proto(cls, detail: _gw.ErrorDetail) -> ErrorDetails:
        kind = _gw.ErrorKind.Name(detail.kind) if detail.kind in _KIND_VALUES else str(detail.kind)
        if kind.startswith("ERROR_KIND_"):
            kind = kind[len("ERROR_KIND_"):]
        if kind == "UNSPECIFIED":
            kind = ""
        return cls(
            kind=kind,
            retryable=detail.retryable,
            retry_after=detail.retry_after_ms / 1000.0 if detail.retry_after_ms else None,
            provider=detail.provider,
            upstream_status=detail.upstream_status,
            upstream_message=detail.upstream_message,
            upstream_code=detail.upstream_code,
            request_id=detail.request_id,
        )


_KIND_VALUES = frozenset(_gw.ErrorKind.values())


class ModelGateError(Exception):
    """Base class of every error the client raises for a failed call.

    Attributes:
        code: the gRPC status code number (``modelgate.StatusCode``).
        code_name: its name, e.g. ``"RESOURCE_EXHAUSTED"``.
        message: the human-readable description.
        details: the typed :class:`ErrorDetails`.
        trailers: trailing metadata of the END frame, if any.
    """

    code: int = _gw.UNKNOWN
    code_name: str = "UNKNOWN"

    def __init__(
        self,
        message: str,
        details: ErrorDetails | None = None,
        *,
        code: int | None = None,
        trailers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None and code != type(self).code:
            self.code = code
            self.code_name = _code_name(code)
        self.message = message
        self.details = details if details is not None else ErrorDetails()
        self.trailers = trailers if trailers is not None else {}

    @property
    def retryable(self) -> bool:
        """Whether the gateway (or the client) says the same request may succeed if sent again."""
        return self.details.retryable

    @property
    def request_id(self) -> str:
        """The gateway's id for the call ("" when unknown)."""
        return self.details.request_id

    def __str__(self) -> str:
        text = f"{self.code_name}: {self.message}" if self.message else self.code_name
        d = self.details
        extra = []
        if d.kind:
            extra.append(f"kind={d.kind}")
        if d.provider:
            extra.append(f"provider={d.provider}")
        if d.upstream_status:
            extra.append(f"upstream_status={d.upstream_status}")
        if d.retry_after is not None:
            extra.append(f"retry_after={d.retry_after:g}s")
        if d.request_id:
            extra.append(f"request_id={d.request_id}")
        if extra:
            text += " (" + ", ".join(extra) + ")"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.details, self.code, self.trailers))


def _rebuild(
    cls: type[ModelGateError], message: str, details: ErrorDetails, code: int, trailers: dict[str, str]
) -> ModelGateError:
    return cls(message, details, code=code, trailers=trailers)


def _code_name(code: int) -> str:
    try:
        return _gw.StatusCode.Name(code)
    except ValueError:
        return f"STATUS_{code}"


class CancelledError(ModelGateError):
    """The call was cancelled (status ``CANCELLED``). Not :class:`asyncio.CancelledError`."""

    code = _gw.CANCELLED
    code_name = "CANCELLED"


class UnknownError(ModelGateError):
    """Status ``UNKNOWN``."""

    code = _gw.UNKNOWN
    code_name = "UNKNOWN"


class InvalidArgumentError(ModelGateError):
    """The request is malformed or uses a feature the provider lacks (``INVALID_ARGUMENT``)."""

    code = _gw.INVALID_ARGUMENT
    code_name = "INVALID_ARGUMENT"


class DeadlineExceededError(ModelGateError):
    """The call's deadline (``timeout=``) expired (``DEADLINE_EXCEEDED``)."""

    code = _gw.DEADLINE_EXCEEDED
    code_name = "DEADLINE_EXCEEDED"


class NotFoundError(ModelGateError):
    """Unknown model or alias, or the provider does not know it (``NOT_FOUND``)."""

    code = _gw.NOT_FOUND
    code_name = "NOT_FOUND"


class AlreadyExistsError(ModelGateError):
    """Status ``ALREADY_EXISTS`` (unused by the gateway)."""

    code = _gw.ALREADY_EXISTS
    code_name = "ALREADY_EXISTS"


class PermissionDeniedError(ModelGateError):
    """The provider denied access (``PERMISSION_DENIED``)."""

    code = _gw.PERMISSION_DENIED
    code_name = "PERMISSION_DENIED"


class ResourceExhaustedError(ModelGateError):
    """A limit was hit: rate limit, quota, stream limit, message size (``RESOURCE_EXHAUSTED``)."""

    code = _gw.RESOURCE_EXHAUSTED
    code_name = "RESOURCE_EXHAUSTED"


class FailedPreconditionError(ModelGateError):
    """The gateway is not in a state to serve this, e.g. a bad upstream credential."""

    code = _gw.FAILED_PRECONDITION
    code_name = "FAILED_PRECONDITION"


class AbortedError(ModelGateError):
    """A conflict upstream; retry at a higher level (``ABORTED``)."""

    code = _gw.ABORTED
    code_name = "ABORTED"


class OutOfRangeError(ModelGateError):
    """Status ``OUT_OF_RANGE`` (unused by the gateway)."""

    code = _gw.OUT_OF_RANGE
    code_name = "OUT_OF_RANGE"


class UnimplementedError(ModelGateError):
    """Unknown method or unimplemented feature (``UNIMPLEMENTED``)."""

    code = _gw.UNIMPLEMENTED
    code_name = "UNIMPLEMENTED"


class InternalError(ModelGateError):
    """A bug, or data that could not be parsed (``INTERNAL``)."""

    code = _gw.INTERNAL
    code_name = "INTERNAL"


class UnavailableError(ModelGateError):
    """Transient: nothing listens, the connection broke, the upstream failed, or the gateway
    is draining (``UNAVAILABLE``)."""

    code = _gw.UNAVAILABLE
    code_name = "UNAVAILABLE"


class DataLossError(ModelGateError):
    """Status ``DATA_LOSS`` (unused by the gateway)."""

    code = _gw.DATA_LOSS
    code_name = "DATA_LOSS"


class UnauthenticatedError(ModelGateError):
    """The caller did not present valid credentials (``UNAUTHENTICATED``)."""

    code = _gw.UNAUTHENTICATED
    code_name = "UNAUTHENTICATED"


_BY_CODE: dict[int, type[ModelGateError]] = {
    cls.code: cls
    for cls in (
        CancelledError,
        UnknownError,
        InvalidArgumentError,
        DeadlineExceededError,
        NotFoundError,
        AlreadyExistsError,
        PermissionDeniedError,
        ResourceExhaustedError,
        FailedPreconditionError,
        AbortedError,
        OutOfRangeError,
        UnimplementedError,
        InternalError,
        UnavailableError,
        DataLossError,
        UnauthenticatedError,
    )
}


def error_for_status(
    code: int,
    message: str,
    details: ErrorDetails | None = None,
    trailers: dict[str, str] | None = None,
) -> ModelGateError:
    """Builds the exception for a non-OK status code (unknown codes give :class:`UnknownError`
    carrying the original ``code``)."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return UnknownError(message, details, code=code, trailers=trailers)
    return cls(message, details, trailers=trailers)


def exception_class(code: int) -> type[ModelGateError]:
    """The exception class for a status code."""
    return _BY_CODE.get(code, UnknownError)
