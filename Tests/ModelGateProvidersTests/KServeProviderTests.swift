import ModelGateCore
import ModelGateProviders
import ModelGateTestSupport
import ModelGateUpstream
import Testing

private func kserve(_ client: any UpstreamHTTPClient, baseURL: String = "http://iris.models.example.com/", apiKey: String? = nil)
    -> KServeProvider
{
    KServeProvider(
        configuration: KServeProviderConfiguration(name: "kserve", baseURL: baseURL, apiKey: apiKey), client: client)
}

private func deployment(_ provider: KServeProvider, model: String = "sklearn-irisv2") -> Deployment {
    Deployment(modelName: "iris", upstreamModel: model, provider: provider)
}

private let context = CallContext(requestID: "req-7")
private let irisRequest = PredictRequest(
    model: "iris",
    inputs: [Tensor(name: "input-0", dataType: .fp32, shape: [2, 4], values: .fp32s([6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6]))])
private let irisResponse = PredictResponse(
    model: "iris-classifier", version: "v1.0.0", id: "823248cc-d770-4a51-9606-16803395569c",
    outputs: [Tensor(name: "predict", dataType: .fp32, shape: [2], values: .fp32s([1, 2]))], provider: "kserve")

@Suite("KServe v2 adapter")
struct KServeProviderTests {
    /// The fixture's response, delivered in pieces of every size, gives the same result.
    @Test func predictWithTheFixtureResponseAtEveryChunkSize() async throws {
        let body = try kserveFixtureMember("response")
        for chunkSize in 1...body.count {
            let client = FakeUpstreamClient(headers: [HTTPHeader("content-type", "application/json")], body: body, chunkSize: chunkSize)
            let provider = kserve(client)
            #expect(try await provider.predict(irisRequest, deployment: deployment(provider), context: context) == irisResponse)
        }
    }

    @Test func predictRequest() async throws {
        let client = FakeUpstreamClient(body: try kserveFixtureMember("response"))
        let provider = kserve(client, apiKey: "token-123456789")
        var request = irisRequest
        request.version = "v1.0.0"
        _ = try await provider.predict(request, deployment: deployment(provider, model: "sklearn iris:v2"), context: context)
        let sent = try #require(client.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.url == "http://iris.models.example.com/v2/models/sklearn%20iris%3Av2/versions/v1.0.0/infer")
        #expect(
            sent.headers == [
                HTTPHeader("Accept", "application/json"), HTTPHeader("Content-Type", "application/json"),
                HTTPHeader("Authorization", "Bearer token-123456789"), HTTPHeader("X-Request-Id", "req-7"),
            ])
        #expect(
            String(decoding: sent.body, as: UTF8.self)
                == #"{"inputs":[{"name":"input-0","shape":[2,4],"datatype":"FP32","data":[6.8,2.8,4.8,1.4,6.0,3.4,4.5,1.6]}]}"#)
    }

    /// `{"error": "…"}` bodies with the HTTP status deciding the outcome.
    @Test(arguments: [
        (400, #"{"error":"unexpected shape for input 'input-0' for model 'iris'"}"#, StatusCode.invalidArgument,
         ErrorKind.invalidRequest),
        (404, #"{"error":"Model with name iris does not exist."}"#, .notFound, .upstreamNotFound),
        (500, #"{"error":"Model iris raised an exception"}"#, .unavailable, .upstreamUnavailable),
        (503, #"{"error":"Model iris is not ready"}"#, .unavailable, .upstreamUnavailable),
    ])
    func errorBodies(status: Int, body: String, code: StatusCode, kind: ErrorKind) async throws {
        let provider = kserve(FakeUpstreamClient(status: status, json: body))
        let error = await thrownGatewayError {
            _ = try await provider.predict(irisRequest, deployment: deployment(provider), context: context)
        }
        #expect(error?.code == code && error?.detail.kind == kind)
        #expect(error?.detail.upstreamStatus == UInt32(status))
        #expect(error?.detail.upstreamMessage == String(body.dropFirst(10).dropLast(2)))
        #expect(error?.detail.requestID == "req-7" && error?.detail.provider == "kserve")
    }

    @Test func chatAndEmbeddingsAreUnsupported() async throws {
        let client = FakeUpstreamClient(body: [])
        let provider = kserve(client)
        let chat = await thrownGatewayError {
            _ = try await provider.chat(
                ChatRequest(model: "iris", messages: [ChatMessage(role: .user, text: "hi")]), deployment: deployment(provider),
                context: context)
        }
        #expect(chat?.detail.kind == .unsupportedFeature && chat?.message == "chat is not supported by provider \"kserve\"")
        let embed = await thrownGatewayError {
            _ = try await provider.embed(EmbedRequest(model: "iris", inputs: ["x"]), deployment: deployment(provider), context: context)
        }
        #expect(embed?.detail.kind == .unsupportedFeature)
        #expect(client.requests.isEmpty)
    }

    @Test func metadataAndReadinessRequests() async throws {
        let metadataClient = FakeUpstreamClient(
            json: #"{"name":"sklearn-irisv2","versions":["1"],"platform":"mlserver","inputs":[],"outputs":[]}"#)
        let metadata = try await kserve(metadataClient).modelMetadata(model: "sklearn-irisv2", context: context)
        #expect(metadata == KServeModelMetadata(name: "sklearn-irisv2", versions: ["1"], platform: "mlserver"))
        #expect(metadataClient.requests.first?.method == "GET")
        #expect(metadataClient.requests.first?.url == "http://iris.models.example.com/v2/models/sklearn-irisv2")

        let readyClient = FakeUpstreamClient(body: [])
        #expect(try await kserve(readyClient).isModelReady(model: "sklearn-irisv2", version: "3", context: context))
        #expect(readyClient.requests.first?.url == "http://iris.models.example.com/v2/models/sklearn-irisv2/versions/3/ready")
        #expect(try await kserve(FakeUpstreamClient(status: 503, body: [])).isModelReady(model: "x", context: context) == false)
        #expect(try await kserve(FakeUpstreamClient(status: 200, body: [])).isServerReady(context: context))
        let unreachable = kserve(FakeUpstreamClient(.failure(UpstreamError(.connect, "connection refused"))))
        let error = await thrownGatewayError { _ = try await unreachable.isModelReady(model: "x", context: context) }
        #expect(error?.code == .unavailable && error?.detail.kind == .upstreamUnavailable)
    }
}

/// The adapter through libcurl against the real fake upstream (its KServe endpoints).
@Suite("KServe v2 adapter against the fake upstream", .serialized)
struct KServeFakeUpstreamTests {
    @Test func readinessMetadataAndInference() async throws {
        let upstream = try FakeUpstreamProcess()
        defer { upstream.stop() }
        let client = CurlClient()
        client.start()
        let provider = kserve(client, baseURL: "http://127.0.0.1:\(upstream.port)")
        do {
            #expect(try await provider.isServerReady(context: context))
            #expect(try await provider.isModelReady(model: "iris", context: context))
            #expect(try await provider.isModelReady(model: "status=503", context: context) == false)
            let metadata = try await provider.modelMetadata(model: "iris", version: "1", context: context)
            #expect(metadata.name == "iris" && metadata.platform == "fake")
            #expect(metadata.inputs == [KServeTensorMetadata(name: "input0", datatype: "FP32", shape: [-1, 4])])

            let response = try await provider.predict(
                PredictRequest(
                    model: "iris",
                    inputs: [
                        Tensor(name: "a", dataType: .int64, shape: [2, 2], values: .int64s([1, -2, 3, Int64.max])),
                        Tensor(name: "b", dataType: .bytes, shape: [1], values: .bytes([Array("yes".utf8)])),
                    ],
                    outputs: ["output0"], id: "call-1"),
                deployment: deployment(provider, model: "iris"), context: context)
            #expect(
                response
                    == PredictResponse(
                        model: "iris", version: "1", id: "call-1",
                        outputs: [
                            Tensor(name: "output0", dataType: .int64, shape: [2, 2], values: .int64s([1, -2, 3, Int64.max]))
                        ],
                        provider: "kserve"))
            let failure = await thrownGatewayError {
                _ = try await provider.predict(
                    PredictRequest(
                        model: "iris", inputs: [Tensor(name: "a", dataType: .int32, shape: [1], values: .ints([1]))],
                        outputs: ["nope"]),
                    deployment: deployment(provider, model: "iris"), context: context)
            }
            #expect(failure?.code == .invalidArgument && failure?.detail.upstreamMessage == "unknown output 'nope'")
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}
