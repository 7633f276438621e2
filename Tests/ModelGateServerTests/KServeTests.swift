import Foundation
import ModelGateClient
import ModelGateCore
import ModelGateTestSupport
import ModelGateWire
import Testing

/// A gateway whose predictive models reach the fake upstream's KServe v2 endpoints.
private struct KServeSetup {
    let upstream: FakeUpstreamProcess
    let gateway: GatewayProcess

    /// - Parameter models: model name → upstream model name (the fake's scenario).
    init(models: [String: String]) throws {
        upstream = try FakeUpstreamProcess()
        let providers = """
              kserve:
                kind: kserve
                base_url: http://127.0.0.1:\(upstream.port)
            """
        let yaml = models.sorted { $0.key < $1.key }.map { name, scenario in
            "  \(name):\n    provider: kserve\n    kind: predictive\n    upstream_model: \"\(scenario)\"\n"
        }.joined()
        gateway = try GatewayProcess(providers: providers, models: yaml)
    }

    func stop() {
        gateway.stop()
        upstream.stop()
    }
}

private let irisInputs = [
    Tensor(name: "input-0", dataType: .fp32, shape: [2, 4], values: .fp32s([6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6]))
]

@Suite("KServe v2 through the gateway and the fake upstream", .serialized)
struct KServeTests {
    /// `kserve_v2_infer.json`'s published response, served byte for byte, comes out as the
    /// unified PredictResponse; the spec example's response (not valid JSON) is an error.
    @Test func fixturesReplayed() async throws {
        let setup = try KServeSetup(models: [
            "iris": "replay=kserve_v2_infer.json;part=response;chunk=7",
            "spec": "replay=kserve_v2_infer_spec_example.http;part=response",
        ])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let response = try await client.predict(
            PredictRequest(model: "iris", inputs: irisInputs), options: CallOptions(requestID: "iris-1"))
        #expect(
            response
                == PredictResponse(
                    model: "iris-classifier", version: "v1.0.0", id: "823248cc-d770-4a51-9606-16803395569c",
                    outputs: [Tensor(name: "predict", dataType: .fp32, shape: [2], values: .fp32s([1, 2]))],
                    provider: "kserve"))
        let event = try #require(try setup.upstream.events(requestID: "iris-1").first)
        let sent = try setup.upstream.request(event.seq)
        #expect(sent.path == "/v2/models/replay%3Dkserve_v2_infer.json%3Bpart%3Dresponse%3Bchunk%3D7/infer")
        #expect(
            sent.body == #"{"inputs":[{"name":"input-0","shape":[2,4],"datatype":"FP32","data":[6.8,2.8,4.8,1.4,6.0,3.4,4.5,1.6]}]}"#)

        let spec = await #expect(throws: GatewayError.self) {
            _ = try await client.predict(
                PredictRequest(
                    model: "spec",
                    inputs: [Tensor(name: "input0", dataType: .uint32, shape: [2, 2], values: .uints([1, 2, 3, 4]))]))
        }
        #expect(spec?.code == .internal && spec?.detail.kind == .upstreamMalformed && spec?.detail.provider == "kserve")
        await client.close()
    }

    /// The fake echoes input *i* as `output{i}`: every datatype survives the round trip.
    @Test func inferenceRoundTrip() async throws {
        let setup = try KServeSetup(models: ["echo": "echo-model"])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let inputs = [
            Tensor(name: "u", dataType: .uint32, shape: [2, 2], values: .uints([1, 2, 3, 4])),
            Tensor(name: "b", dataType: .bool, shape: [3], values: .bools([true, false, true])),
            Tensor(name: "l", dataType: .int64, shape: [1], values: .int64s([-9_007_199_254_740_993])),
            Tensor(name: "d", dataType: .fp64, shape: [2], values: .fp64s([0.1, -1e300])),
            Tensor(name: "s", dataType: .bytes, shape: [1], values: .bytes([Array("héllo".utf8)])),
        ]
        let response = try await client.predict(
            PredictRequest(model: "echo", version: "7", inputs: inputs, parameters: ["threshold": "0.5"], id: "p-1"))
        #expect(response.model == "echo-model" && response.version == "7" && response.id == "p-1")
        #expect(response.provider == "kserve")
        #expect(
            response.outputs
                == inputs.enumerated().map { index, tensor in
                    Tensor(name: "output\(index)", dataType: tensor.dataType, shape: tensor.shape, values: tensor.values)
                })

        let refused = await #expect(throws: GatewayError.self) {
            _ = try await client.predict(
                PredictRequest(
                    model: "echo", inputs: [Tensor(name: "h", dataType: .fp16, shape: [1], values: .raw([0, 0x3C]))]))
        }
        #expect(refused?.code == .invalidArgument && refused?.detail.kind == .unsupportedFeature)
        let chat = await #expect(throws: GatewayError.self) {
            _ = try await client.chat(ChatRequest(model: "echo", messages: [ChatMessage(role: .user, text: "hi")]))
        }
        #expect(chat?.code == .invalidArgument)
        await client.close()
    }

    @Test func failuresAndCancellation() async throws {
        let setup = try KServeSetup(models: [
            "bad": "status=400;error_message=unexpected shape for input 'input-0'",
            "down": "status=503",
            "reset": "reset_after=0",
            "stall": "stall_headers",
        ])
        defer { setup.stop() }
        let client = try await setup.gateway.connect()
        let request = PredictRequest(model: "bad", inputs: irisInputs)
        let bad = await #expect(throws: GatewayError.self) { _ = try await client.predict(request) }
        #expect(bad?.code == .invalidArgument && bad?.detail.kind == .invalidRequest)
        #expect(bad?.detail.upstreamStatus == 400 && bad?.detail.upstreamMessage == "unexpected shape for input 'input-0'")
        var down = request
        down.model = "down"
        let unavailable = await #expect(throws: GatewayError.self) { _ = try await client.predict(down) }
        #expect(unavailable?.code == .unavailable && unavailable?.detail.retryable == true)
        var reset = request
        reset.model = "reset"
        let cut = await #expect(throws: GatewayError.self) { _ = try await client.predict(reset) }
        #expect(cut?.code == .unavailable)

        // CANCEL while the server has not answered: the upstream request is dropped.
        var stalled = request
        stalled.model = "stall"
        let call = try await client.start(
            method: "/modelgate.v1.Gateway/Predict", stalled, options: CallOptions(requestID: "kserve-cancel"))
        try await Task.sleep(for: .milliseconds(100))
        call.cancel()
        #expect(try setup.upstream.waitForOutcome(requestID: "kserve-cancel", "client_closed")?.outcome == "client_closed")
        await client.close()
    }
}
