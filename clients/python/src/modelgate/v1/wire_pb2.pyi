from modelgate.v1 import gateway_pb2 as _gateway_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
GOAWAY_BAD_MAGIC: GoAwayCode
GOAWAY_CONNECTION_LIMIT: GoAwayCode
GOAWAY_ENHANCE_YOUR_CALM: GoAwayCode
GOAWAY_FRAME_SIZE_ERROR: GoAwayCode
GOAWAY_INTERNAL_ERROR: GoAwayCode
GOAWAY_NO_ERROR: GoAwayCode
GOAWAY_PROTOCOL_ERROR: GoAwayCode
GOAWAY_TIMEOUT: GoAwayCode
GOAWAY_UNSUPPORTED_VERSION: GoAwayCode

class CallHeader(_message.Message):
    __slots__ = ["metadata", "method", "request_id", "timeout_micros"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    METADATA_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MICROS_FIELD_NUMBER: _ClassVar[int]
    metadata: _containers.ScalarMap[str, str]
    method: str
    request_id: str
    timeout_micros: int
    def __init__(self, method: _Optional[str] = ..., timeout_micros: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class EndStatus(_message.Message):
    __slots__ = ["code", "error", "message", "trailers"]
    class TrailersEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRAILERS_FIELD_NUMBER: _ClassVar[int]
    code: _gateway_pb2.StatusCode
    error: _gateway_pb2.ErrorDetail
    message: str
    trailers: _containers.ScalarMap[str, str]
    def __init__(self, code: _Optional[_Union[_gateway_pb2.StatusCode, str]] = ..., message: _Optional[str] = ..., error: _Optional[_Union[_gateway_pb2.ErrorDetail, _Mapping]] = ..., trailers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GoAway(_message.Message):
    __slots__ = ["code", "last_stream_id", "reason"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    LAST_STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    code: GoAwayCode
    last_stream_id: int
    reason: str
    def __init__(self, last_stream_id: _Optional[int] = ..., code: _Optional[_Union[GoAwayCode, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ["agent", "settings", "version"]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    agent: str
    settings: Settings
    version: int
    def __init__(self, version: _Optional[int] = ..., agent: _Optional[str] = ..., settings: _Optional[_Union[Settings, _Mapping]] = ...) -> None: ...

class Settings(_message.Message):
    __slots__ = ["initial_window_size", "max_concurrent_streams", "max_frame_size"]
    INITIAL_WINDOW_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_STREAMS_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAME_SIZE_FIELD_NUMBER: _ClassVar[int]
    initial_window_size: int
    max_concurrent_streams: int
    max_frame_size: int
    def __init__(self, max_frame_size: _Optional[int] = ..., max_concurrent_streams: _Optional[int] = ..., initial_window_size: _Optional[int] = ...) -> None: ...

class GoAwayCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
