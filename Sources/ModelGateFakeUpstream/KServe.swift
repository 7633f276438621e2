import ModelGateJSON
import NIOCore
import NIOHTTP1

/// KServe v2 / Open Inference Protocol REST endpoints.
enum KServeRoute: Equatable {
    case infer(model: String, version: String?)
    case metadata(model: String, version: String?)
    case modelReady(model: String, version: String?)
    case serverReady
    case serverLive

    /// The route of a `/v2/…` path (any prefix before it), if it is one.
    static func parse(_ path: Substring) -> KServeRoute? {
        if path.utf8HasSuffix("/v2/health/ready") { return .serverReady }
        if path.utf8HasSuffix("/v2/health/live") { return .serverLive }
        guard let range = path.firstRange(of: "/v2/models/") else { return nil }
        var segments = path[range.upperBound...].split(separator: "/", omittingEmptySubsequences: false)
        guard let first = segments.first, let model = percentDecode(first), !model.isEmpty else { return nil }
        segments.removeFirst()
        var version: String?
        if segments.count >= 2, segments[0] == "versions" {
            guard let decoded = percentDecode(segments[1]), !decoded.isEmpty else { return nil }
            version = decoded
            segments.removeFirst(2)
        }
        switch segments.count {
        case 0: return .metadata(model: model, version: version)
        case 1 where segments[0] == "infer": return .infer(model: model, version: version)
        case 1 where segments[0] == "ready": return .modelReady(model: model, version: version)
        default: return nil
        }
    }
}

/// `{"error": "…"}`, the protocol's error body.
struct KServeError {
    var message: String

    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        oneMemberObject("error", message, allocator: allocator)
    }
}

extension ServerCore {
    /// Plans the answer to a KServe request (the scenario is already parsed; no replay or
    /// `status` applies). Unary: `reset_after` resets before the head, `stall_after` stalls
    /// after it, `malformed_after` breaks the body.
    func planKServe(
        route: KServeRoute, method: HTTPMethod, body: ByteBuffer?, scenario: Scenario, seq: Int, baseHead: ResponseHead,
        preamble: Preamble, allocator: ByteBufferAllocator
    ) -> PlannedResponse {
        var preamble = preamble
        preamble.resetBeforeHeaders = scenario.resetAfter != nil
        func answer(_ status: Int, _ bytes: ByteBuffer) -> PlannedResponse {
            var head = baseHead
            head.status = status
            let bytes = status == 200 && scenario.malformedAfter != nil ? Self.malformedBody(allocator: allocator) : bytes
            return PlannedResponse(
                seq: seq, producer: FixedResponse(head: head, body: bytes, stallAfterHead: scenario.stallAfter != nil),
                preamble: preamble)
        }
        func failure(_ status: Int, _ message: String) -> PlannedResponse {
            answer(status, KServeError(message: message).body(allocator: allocator))
        }
        let expectedMethod: HTTPMethod = if case .infer = route { .POST } else { .GET }
        guard method == expectedMethod else { return failure(405, "use \(expectedMethod.rawValue) for this endpoint") }
        switch route {
        case .serverReady, .serverLive, .modelReady:
            return answer(200, allocator.buffer(capacity: 0))
        case .metadata(let model, _):
            var buffer = allocator.buffer(capacity: 256)
            buffer.writeStaticString("{\"name\":")
            buffer.writeJSONString(model)
            buffer.writeStaticString(
                ",\"versions\":[\"1\"],\"platform\":\"fake\",\"inputs\":[{\"name\":\"input0\",\"datatype\":\"FP32\",\"shape\":[-1,4]}],\"outputs\":[{\"name\":\"output0\",\"datatype\":\"FP32\",\"shape\":[-1,4]}]}"
            )
            return answer(200, buffer)
        case .infer(let model, let version):
            let request: JSONValue
            do {
                let bytes = body.map { Array($0.readableBytesView) } ?? []
                request = try JSONDocument(parsing: bytes).root
            } catch {
                return failure(400, "invalid JSON in the request body: \(error)")
            }
            switch Self.echo(request, model: model, version: version, seq: seq, allocator: allocator) {
            case .success(let bytes): return answer(200, bytes)
            case .failure(let error): return failure(400, error.message)
            }
        }
    }

    /// The infer answer: output *i* is named `output{i}` and carries input *i*'s datatype,
    /// shape and data (flattened); requested `outputs` select among them.
    static func echo(_ request: JSONValue, model: String, version: String?, seq: Int, allocator: ByteBufferAllocator)
        -> Result<ByteBuffer, KServeError>
    {
        let inputs = request["inputs"]
        guard inputs.kind == .array, inputs.count > 0 else { return .failure(KServeError(message: "inputs are required")) }
        let known: Set<String> = [
            "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64",
            "BYTES",
        ]
        var outputs: [(name: String, datatype: String, shape: [Int64], data: [JSONValue])] = []
        for (position, input) in inputs.elements.enumerated() {
            guard let name = input["name"].string, let datatype = input["datatype"].string, known.contains(datatype)
            else { return .failure(KServeError(message: "input \(position) needs a name and a known datatype")) }
            var shape: [Int64] = []
            var count = 1
            for dimension in input["shape"].elements {
                guard let size = dimension.int64, size >= 0, size <= 1 << 24 else {
                    return .failure(KServeError(message: "input '\(name)' has an invalid shape"))
                }
                shape.append(size)
                count = count.multipliedReportingOverflow(by: Int(size)).partialValue
            }
            var leaves: [JSONValue] = []
            func flatten(_ value: JSONValue) {
                for element in value.elements {
                    if element.kind == .array { flatten(element) } else { leaves.append(element) }
                }
            }
            flatten(input["data"])
            guard leaves.count == count else {
                return .failure(
                    KServeError(
                        message: "unexpected shape for input '\(name)': \(leaves.count) elements for shape \(shape)"))
            }
            outputs.append(("output\(position)", datatype, shape, leaves))
        }
        let requested = request["outputs"].elements.compactMap { $0["name"].string }
        if let unknown = requested.first(where: { name in !outputs.contains { $0.name == name } }) {
            return .failure(KServeError(message: "unknown output '\(unknown)'"))
        }
        if !requested.isEmpty {
            outputs = outputs.filter { requested.contains($0.name) }
        }
        var buffer = allocator.buffer(capacity: 256)
        buffer.writeStaticString("{\"model_name\":")
        buffer.writeJSONString(model)
        buffer.writeStaticString(",\"model_version\":")
        buffer.writeJSONString(version ?? "1")
        buffer.writeStaticString(",\"id\":")
        buffer.writeJSONString(request["id"].string ?? "fake-\(seq)")
        buffer.writeStaticString(",\"parameters\":null,\"outputs\":[")
        for (index, output) in outputs.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeStaticString("{\"name\":")
            buffer.writeJSONString(output.name)
            buffer.writeStaticString(",\"datatype\":")
            buffer.writeJSONString(output.datatype)
            buffer.writeStaticString(",\"shape\":[")
            for (position, size) in output.shape.enumerated() {
                if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                buffer.writeDecimal(size)
            }
            buffer.writeStaticString("],\"data\":[")
            for (position, leaf) in output.data.enumerated() {
                if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                buffer.writeBytes(leaf.rawBytes)
            }
            buffer.writeStaticString("]}")
        }
        buffer.writeStaticString("]}")
        return .success(buffer)
    }
}

extension KServeError: Error {}
