"""ModelGate client for Python.

Quick start::

    import modelgate

    with modelgate.Client() as client:           # $MODELGATE_ADDRESS or unix:///tmp/modelgate.sock
        reply = client.chat(model="mock", messages=[{"role": "user", "content": "hi"}])
        print(reply.text)
        for chunk in client.chat_stream(model="mock", messages=[{"role": "user", "content": "hi"}]):
            print(chunk.text, end="", flush=True)

``modelgate.AsyncClient`` offers the same API for asyncio. Responses are the generated protobuf
messages of ``modelgate.v1.gateway_pb2`` (re-exported here: ``ChatResponse``, ``ChatChunk``, ...).
Errors are subclasses of :class:`ModelGateError`, one per status code.
"""

from ._address import Address, parse_address
from ._requests import MessageDict, MessageLike, build_chat_request, to_message, to_tensor
from ._results import EmbedResult, cost_usd
from ._version import __version__
from .aio import AsyncChatStream, AsyncClient
from .client import ChatStream, Client
from .errors import (
    AbortedError,
    AlreadyExistsError,
    CancelledError,
    DataLossError,
    DeadlineExceededError,
    ErrorDetails,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    ModelGateError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
    error_for_status,
)
from .v1.gateway_pb2 import (
    CacheHint,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    ContentPart,
    DataType,
    EmbedRequest,
    EmbedResponse,
    Embedding,
    ErrorDetail,
    ErrorKind,
    FinishReason,
    HealthRequest,
    HealthResponse,
    ImageData,
    ImageUrl,
    ListModelsRequest,
    ListModelsResponse,
    Message,
    ModelInfo,
    ModelKind,
    PredictRequest,
    PredictResponse,
    ResponseFormat,
    Role,
    ServingStatus,
    StatusCode,
    Tensor,
    TensorData,
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    ToolResult,
    Usage,
    UsageSource,
)

__all__ = [
    "__version__",
    # clients
    "Client",
    "AsyncClient",
    "ChatStream",
    "AsyncChatStream",
    "EmbedResult",
    "Address",
    "parse_address",
    "build_chat_request",
    "to_message",
    "to_tensor",
    "cost_usd",
    "MessageDict",
    "MessageLike",
    # errors
    "ModelGateError",
    "ErrorDetails",
    "error_for_status",
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
    # schema
    "CacheHint",
    "ChatChunk",
    "ChatRequest",
    "ChatResponse",
    "ContentPart",
    "DataType",
    "EmbedRequest",
    "EmbedResponse",
    "Embedding",
    "ErrorDetail",
    "ErrorKind",
    "FinishReason",
    "HealthRequest",
    "HealthResponse",
    "ImageData",
    "ImageUrl",
    "ListModelsRequest",
    "ListModelsResponse",
    "Message",
    "ModelInfo",
    "ModelKind",
    "PredictRequest",
    "PredictResponse",
    "ResponseFormat",
    "Role",
    "ServingStatus",
    "StatusCode",
    "Tensor",
    "TensorData",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolChoice",
    "ToolResult",
    "Usage",
    "UsageSource",
]
