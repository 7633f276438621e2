import CModelGateProto
import CProtobufC
import NIOCore

/// A message that could not be decoded: bad protobuf, a string that is not UTF-8, or a value
/// out of range. The server answers it with INVALID_ARGUMENT.
package struct WireDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    package var message: String

    package init(_ message: String) {
        self.message = message
    }

    package var description: String { message }
}

/// A Swift value that has a protobuf-c message counterpart in `CModelGateProto`.
///
/// Conformances convert in both directions. Decoding copies everything out of the C message,
/// so the arena it was unpacked into can be reset right after.
protocol ProtobufCMessageConvertible {
    associatedtype CMessage
    /// The protobuf message's full name, for error messages.
    static var protoName: String { get }
    /// The generated `…__unpack` function.
    static func unpack(
        _ allocator: UnsafeMutablePointer<ProtobufCAllocator>, _ length: Int, _ data: UnsafePointer<UInt8>?
    ) -> UnsafeMutablePointer<CMessage>?
    init(_ message: borrowing CMessage, reader: CMessageReader) throws(WireDecodingError)
    /// Builds the C message in the builder's arena.
    func cMessage(_ builder: CMessageBuilder) -> UnsafeMutablePointer<CMessage>
}

/// Encodes and decodes protocol messages with protobuf-c.
///
/// One codec belongs to one connection (it is not thread-safe); it reuses its arenas, so
/// steady-state encoding and decoding allocate nothing but the resulting Swift values.
package final class WireCodec {
    private let decodeArena: ProtobufArena
    private let encodeArena = ProtobufArena(limit: Int.max)

    /// - Parameter maxDecodedBytes: the most memory protobuf-c may allocate for one message;
    ///   beyond it decoding fails (protobuf-c has no limit of its own).
    package init(maxDecodedBytes: Int = 64 * 1024 * 1024) {
        self.decodeArena = ProtobufArena(limit: maxDecodedBytes)
    }

    func decode<M: ProtobufCMessageConvertible>(_: M.Type, from payload: ByteBuffer) throws(WireDecodingError) -> M {
        decodeArena.reset()
        defer { decodeArena.reset() }
        var allocator = decodeArena.allocator
        let message = payload.withUnsafeReadableBytes { bytes in
            M.unpack(&allocator, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
        guard let message else {
            throw WireDecodingError("payload is not a valid \(M.protoName) message")
        }
        return try M(message.pointee, reader: CMessageReader(arena: decodeArena))
    }

    func encode<M: ProtobufCMessageConvertible>(_ value: M, into buffer: inout ByteBuffer) {
        encodeArena.reset()
        defer { encodeArena.reset() }
        let message = value.cMessage(CMessageBuilder(arena: encodeArena))
        let base = UnsafeRawPointer(message).assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(base)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            guard let start = out.baseAddress, size > 0 else { return 0 }
            return protobuf_c_message_pack(base, start.assumingMemoryBound(to: UInt8.self))
        }
    }
}

/// Reads values out of a C message unpacked into a ``ProtobufArena``.
struct CMessageReader {
    let arena: ProtobufArena

    /// The string at `pointer`, with its exact length (embedded NULs kept), validated as UTF-8.
    func string(_ pointer: UnsafeMutablePointer<CChar>?, field: StaticString) throws(WireDecodingError) -> String {
        guard let pointer else { return "" }
        let raw = UnsafeRawPointer(pointer)
        guard let size = arena.allocationSize(of: raw) else {
            // Not from the arena: protobuf-c's static default, the empty string.
            return String(cString: pointer)
        }
        let bytes = UnsafeRawBufferPointer(start: raw, count: max(size - 1, 0)).bindMemory(to: UInt8.self)
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw WireDecodingError("field \(field) is not valid UTF-8")
        }
        return string
    }

    func strings(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, count: Int, field: StaticString)
        throws(WireDecodingError) -> [String]
    {
        guard let pointer, count > 0 else { return [] }
        var result: [String] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            result.append(try string(pointer[index], field: field))
        }
        return result
    }

    func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard let base = data.data, data.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    func scalars<T>(_ pointer: UnsafeMutablePointer<T>?, count: Int) -> [T] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    func messages<C, T>(
        _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<C>?>?, count: Int,
        _ transform: (borrowing C) throws(WireDecodingError) -> T
    ) throws(WireDecodingError) -> [T] {
        guard let pointer, count > 0 else { return [] }
        var result: [T] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            guard let element = pointer[index] else { continue }
            result.append(try transform(element.pointee))
        }
        return result
    }

    /// A string map from its entries, each exposing `key` and `value`.
    func map<C: CStringMapEntry>(
        _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<C>?>?, count: Int, field: StaticString
    ) throws(WireDecodingError) -> [String: String] {
        guard let pointer, count > 0 else { return [:] }
        var result: [String: String] = [:]
        result.reserveCapacity(count)
        for index in 0..<count {
            guard let entry = pointer[index] else { continue }
            // Later duplicates win, as protobuf map semantics require.
            result[try string(entry.pointee.key, field: field)] = try string(entry.pointee.value, field: field)
        }
        return result
    }
}

/// Builds C messages in a ``ProtobufArena`` for packing.
struct CMessageBuilder {
    let arena: ProtobufArena

    private func allocate<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        // The encode arena has no limit, so allocation only fails if malloc does.
        guard let raw = arena.allocate(MemoryLayout<T>.stride * max(count, 1)) else {
            preconditionFailure("protobuf encode arena allocation failed")
        }
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// A NUL-terminated copy of `string`. protobuf-c measures strings with strlen, so an
    /// embedded NUL is replaced by U+FFFD rather than silently cutting the string short.
    func string(_ string: String) -> UnsafeMutablePointer<CChar> {
        var string = string
        return string.withUTF8 { utf8 in
            guard !utf8.contains(0) else { return copyReplacingNULs(utf8) }
            let pointer = allocate(CChar.self, count: utf8.count + 1)
            if let base = utf8.baseAddress {
                UnsafeMutableRawPointer(pointer).copyMemory(from: base, byteCount: utf8.count)
            }
            pointer[utf8.count] = 0
            return pointer
        }
    }

    private func copyReplacingNULs(_ utf8: UnsafeBufferPointer<UInt8>) -> UnsafeMutablePointer<CChar> {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count + 8)
        for byte in utf8 {
            if byte == 0 { bytes.append(contentsOf: [0xEF, 0xBF, 0xBD]) } else { bytes.append(byte) }
        }
        let pointer = allocate(CChar.self, count: bytes.count + 1)
        for (index, byte) in bytes.enumerated() {
            pointer[index] = CChar(bitPattern: byte)
        }
        pointer[bytes.count] = 0
        return pointer
    }

    /// A string field value: nil (the field's default) when empty, so nothing is copied.
    func optionalString(_ string: String) -> UnsafeMutablePointer<CChar>? {
        string.isEmpty ? nil : self.string(string)
    }

    func strings(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !strings.isEmpty else { return nil }
        let pointer = allocate(UnsafeMutablePointer<CChar>?.self, count: strings.count)
        for (index, value) in strings.enumerated() {
            pointer[index] = string(value)
        }
        return pointer
    }

    func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        guard !bytes.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let pointer = allocate(UInt8.self, count: bytes.count)
        bytes.withUnsafeBufferPointer { source in
            pointer.update(from: source.baseAddress!, count: source.count)
        }
        return ProtobufCBinaryData(len: bytes.count, data: pointer)
    }

    func scalars<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        guard !values.isEmpty else { return nil }
        let pointer = allocate(T.self, count: values.count)
        values.withUnsafeBufferPointer { source in
            pointer.initialize(from: source.baseAddress!, count: source.count)
        }
        return pointer
    }

    /// A C message initialised by its generated `…__init`, then filled by `fill`.
    func message<C>(_ initialize: (UnsafeMutablePointer<C>) -> Void, _ fill: (inout C) -> Void = { _ in })
        -> UnsafeMutablePointer<C>
    {
        let pointer = allocate(C.self, count: 1)
        initialize(pointer)
        fill(&pointer.pointee)
        return pointer
    }

    func messages<T: ProtobufCMessageConvertible>(_ values: [T]) -> UnsafeMutablePointer<UnsafeMutablePointer<T.CMessage>?>? {
        guard !values.isEmpty else { return nil }
        let pointer = allocate(UnsafeMutablePointer<T.CMessage>?.self, count: values.count)
        for (index, value) in values.enumerated() {
            pointer[index] = value.cMessage(self)
        }
        return pointer
    }

    func map<C: CStringMapEntry>(_ values: [String: String]) -> UnsafeMutablePointer<UnsafeMutablePointer<C>?>? {
        guard !values.isEmpty else { return nil }
        let pointer = allocate(UnsafeMutablePointer<C>?.self, count: values.count)
        // Sorted so the encoding is deterministic.
        for (index, (key, value)) in values.sorted(by: { $0.key < $1.key }).enumerated() {
            pointer[index] = message(C.initialize) { entry in
                entry.key = string(key)
                entry.value = string(value)
            }
        }
        return pointer
    }
}

/// A generated map-entry struct with string key and value.
protocol CStringMapEntry {
    var key: UnsafeMutablePointer<CChar>! { get set }
    var value: UnsafeMutablePointer<CChar>! { get set }
    static func initialize(_ entry: UnsafeMutablePointer<Self>)
}

extension Modelgate__V1__ChatRequest__MetadataEntry: CStringMapEntry {
    static func initialize(_ entry: UnsafeMutablePointer<Self>) { modelgate__v1__chat_request__metadata_entry__init(entry) }
}

extension Modelgate__V1__EmbedRequest__MetadataEntry: CStringMapEntry {
    static func initialize(_ entry: UnsafeMutablePointer<Self>) { modelgate__v1__embed_request__metadata_entry__init(entry) }
}

extension Modelgate__V1__PredictRequest__ParametersEntry: CStringMapEntry {
    static func initialize(_ entry: UnsafeMutablePointer<Self>) {
        modelgate__v1__predict_request__parameters_entry__init(entry)
    }
}

extension Modelgate__V1__CallHeader__MetadataEntry: CStringMapEntry {
    static func initialize(_ entry: UnsafeMutablePointer<Self>) { modelgate__v1__call_header__metadata_entry__init(entry) }
}

extension Modelgate__V1__EndStatus__TrailersEntry: CStringMapEntry {
    static func initialize(_ entry: UnsafeMutablePointer<Self>) { modelgate__v1__end_status__trailers_entry__init(entry) }
}

/// Converts between a Swift wire enum's Int32 value and a generated C enum.
protocol CEnum {
    init(_ rawValue: UInt32)
    var rawValue: UInt32 { get }
}

extension CEnum {
    init(wire value: Int32) {
        self.init(UInt32(bitPattern: value))
    }

    var wire: Int32 { Int32(bitPattern: rawValue) }
}
