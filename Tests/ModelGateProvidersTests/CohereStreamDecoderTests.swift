import ModelGateCore
import ModelGateFakeUpstream
import ModelGateJSON
import ModelGateProviders
import Testing

/// Cohere's published stream examples as the SSE bodies they stand for, converted from the
/// Fern YAML by the fake upstream's reader (the same bytes the fake replays).
func cohereFixtureStream(_ name: String) throws -> [UInt8] {
    let example = try FernExample(yaml: String(decoding: try Fixtures.bytes(name), as: UTF8.self))
    return try #require(example.serverSentEvents)
}

@Suite("Cohere stream decoder")
struct CohereStreamDecoderTests {
    static let textStream = "cohere_v2_chat_stream.example.yaml"
    static let toolStream = "cohere_v2_chat_stream_tools.example.yaml"

    private func run(_ pieces: [[UInt8]]) -> (events: [ChatStreamEvent], error: GatewayError?) {
        runStreamDecoder(CohereStreamDecoder(provider: "cohere"), pieces)
    }

    private func run(_ text: String) -> (events: [ChatStreamEvent], error: GatewayError?) {
        run([Array(text.utf8)])
    }

    // MARK: The published examples, at every split point

    @Test func textStreamAtEverySplit() throws {
        let words = [
            "LL", "Ms", " stand", " for", " Large", " Language", " Models", ",", " which", " are", " a", " type", " of",
            " neural", " network", " model", " specialized", " in", " processing", " and", " generating", " human",
            " language", ".",
        ]
        let expected: [ChatStreamEvent] =
            [.started(id: "29f14a5a-11de-4cae-9800-25e4747408ea", model: "")]
            + words.map { .delta(ChatDelta(text: $0)) }
            + [
                .finished(.stop, providerReason: "COMPLETE"),
                .usage(Usage(inputTokens: 71, outputTokens: 26, source: .provider)),
            ]
        let bytes = try cohereFixtureStream(Self.textStream)
        for (label, pieces) in everySplit(bytes) {
            let (events, error) = run(pieces)
            #expect(error == nil, "\(label)")
            #expect(events == expected, "\(label)")
        }
        let response = assembledResponse(expected, provider: "cohere")
        #expect(
            response.text
                == "LLMs stand for Large Language Models, which are a type of neural network model specialized in processing and generating human language."
        )
        #expect(response.id == "29f14a5a-11de-4cae-9800-25e4747408ea")
        #expect(response.finishReason == .stop && response.providerFinishReason == "COMPLETE")
        // The model's token counts, not the billed units (5 in, 26 out).
        #expect(response.usage.inputTokens == 71)
        #expect(response.usage.outputTokens == 26)
        #expect(response.usage.totalTokens == 97)
        #expect(response.usage.cachedInputTokens == 0 && response.usage.reasoningTokens == 0)
        #expect(response.usage.source == .provider)
    }

    @Test func toolPlanAndTwoToolCallsAtEverySplit() throws {
        let bytes = try cohereFixtureStream(Self.toolStream)
        var reference: [ChatStreamEvent]?
        for (label, pieces) in everySplit(bytes) {
            let (events, error) = run(pieces)
            #expect(error == nil, "\(label)")
            if let reference {
                #expect(events == reference, "\(label)")
            } else {
                reference = events
            }
        }
        let events = try #require(reference)
        #expect(events.first == .started(id: "2edfdf70-019c-4f7a-be20-3cdbfaa3dca6", model: ""))
        // Each tool call is relayed as it arrives: a start with id and name, then fragments.
        let fragments = events.compactMap { event -> ToolCallDelta? in
            guard case .delta(let delta) = event else { return nil }
            return delta.toolCalls.first
        }
        #expect(fragments.count == 2 + 15 + 7)
        #expect(
            fragments.first
                == ToolCallDelta(
                    index: 0, id: "query_daily_sales_report_j3f0adww9pmr", name: "query_daily_sales_report",
                    argumentsFragment: ""))
        #expect(fragments[1] == ToolCallDelta(index: 0, argumentsFragment: "{\""))
        #expect(
            fragments[16]
                == ToolCallDelta(
                    index: 1, id: "query_product_catalog_c66nf11r6s8g", name: "query_product_catalog",
                    argumentsFragment: ""))
        #expect(
            events.suffix(2) == [
                .finished(.toolCalls, providerReason: "TOOL_CALL"),
                .usage(Usage(inputTokens: 1589, outputTokens: 135, source: .provider)),
            ])

        let response = assembledResponse(events, provider: "cohere")
        #expect(
            response.reasoning
                == "I will use the query_daily_sales_report tool to find the sales summary for 29th September 2023. I will also use the query_product_catalog tool to find the details of the products in the Electronics category."
        )
        #expect(response.text == "")
        #expect(response.toolCalls.count == 2)
        let sales = response.toolCalls[0]
        #expect(sales.id == "query_daily_sales_report_j3f0adww9pmr" && sales.name == "query_daily_sales_report")
        let salesArguments = try JSONDocument(parsing: sales.argumentsJSON).root
        #expect(salesArguments.count == 1 && salesArguments["day"].string == "2023-09-29")
        let catalog = response.toolCalls[1]
        #expect(catalog.id == "query_product_catalog_c66nf11r6s8g" && catalog.name == "query_product_catalog")
        let catalogArguments = try JSONDocument(parsing: catalog.argumentsJSON).root
        #expect(catalogArguments.count == 1 && catalogArguments["category"].string == "Electronics")
        #expect(response.finishReason == .toolCalls && response.providerFinishReason == "TOOL_CALL")
        #expect(response.usage == Usage(inputTokens: 1589, outputTokens: 135, totalTokens: 1724, source: .provider))
    }

    @Test("every cut before message-end is truncated, never OK", arguments: [textStream, toolStream])
    func everyCutBeforeMessageEndIsTruncated(fixture: String) throws {
        let bytes = try cohereFixtureStream(fixture)
        for cut in 0..<bytes.count {
            let (_, error) = run([Array(bytes[..<cut])])
            #expect(error?.code == .unavailable, "cut at \(cut)")
            #expect(error?.detail.kind == .upstreamTruncated, "cut at \(cut)")
            #expect(error?.detail.retryable == true, "cut at \(cut)")
        }
        let (_, whole) = run([bytes])
        #expect(whole == nil)
    }

    // MARK: End of stream

    @Test func doneAfterMessageEndIsIgnoredAndBeforeItIsTruncation() throws {
        let end = "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"MAX_TOKENS\"}}\n\n"
        let after = run(end + "data: [DONE]\n\n")
        #expect(after.error == nil)
        #expect(after.events == [.finished(.length, providerReason: "MAX_TOKENS")])

        let before = run("data: {\"type\":\"message-start\",\"id\":\"m\"}\n\ndata: [DONE]\n\n")
        #expect(before.error?.detail.kind == .upstreamTruncated)
        #expect(before.error?.message.contains("[DONE] before message-end") == true)
        #expect(before.events == [.started(id: "m", model: "")])
    }

    @Test func stopSequenceAndUnknownReasonsAreStop() {
        for reason in ["STOP_SEQUENCE", "SOMETHING_NEW"] {
            let (events, error) = run(
                "data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"\(reason)\"}}\n\n")
            #expect(error == nil)
            #expect(events == [.finished(.stop, providerReason: reason)])
        }
    }

    @Test(
        "ERROR and TIMEOUT fail the stream, after the usage",
        arguments: [("ERROR", ErrorKind.upstreamUnavailable), ("TIMEOUT", .upstreamTimeout)])
    func failedGenerations(reason: String, kind: ErrorKind) {
        let (events, error) = run(
            "data: {\"type\":\"content-delta\",\"delta\":{\"message\":{\"content\":{\"text\":\"Hi\"}}}}\n\n"
                + "data: {\"type\":\"message-end\",\"delta\":{\"error\":\"model overloaded\",\"finish_reason\":\"\(reason)\",\"usage\":{\"tokens\":{\"input_tokens\":3,\"output_tokens\":1}}}}\n\n"
        )
        #expect(events == [.delta(ChatDelta(text: "Hi")), .usage(Usage(inputTokens: 3, outputTokens: 1, source: .provider))])
        let failure = error
        #expect(failure?.code == .unavailable)
        #expect(failure?.detail.kind == kind)
        #expect(failure?.detail.retryable == true)
        #expect(failure?.detail.upstreamCode == reason)
        #expect(failure?.detail.upstreamMessage == "model overloaded")
        #expect(failure?.detail.upstreamStatus == 200)
        #expect(failure?.detail.provider == "cohere")
    }

    // MARK: Other event kinds

    @Test func thinkingIsReasoningAndIgnoredEventsAreIgnored() {
        let (events, error) = run(
            """
            event: message-start
            data: {"id":"r1","type":"message-start","delta":{"message":{"role":"assistant"}}}

            event: content-start
            data: {"type":"content-start","index":0,"delta":{"message":{"content":{"type":"thinking","thinking":"Let me"}}}}

            event: content-delta
            data: {"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":" think."}}}}

            event: content-end
            data: {"type":"content-end","index":0}

            event: content-delta
            data: {"type":"content-delta","index":1,"delta":{"message":{"content":{"text":"42"}}}}

            event: citation-start
            data: {"type":"citation-start","index":0,"delta":{"message":{"citations":{"start":0,"end":2,"text":"42"}}}}

            event: citation-end
            data: {"type":"citation-end","index":0}

            event: debug
            data: {"type":"debug","prompt":"…"}

            : a comment
            event: message-end
            data: {"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":1},"tokens":{"input_tokens":9,"output_tokens":4},"cached_tokens":5}}}


            """)
        #expect(error == nil)
        #expect(
            events == [
                .started(id: "r1", model: ""),
                .delta(ChatDelta(reasoning: "Let me")),
                .delta(ChatDelta(reasoning: " think.")),
                .delta(ChatDelta(text: "42")),
                .finished(.stop, providerReason: "COMPLETE"),
                .usage(Usage(inputTokens: 9, outputTokens: 4, cachedInputTokens: 5, source: .provider)),
            ])
    }

    @Test func billedUnitsAloneAreNotTokenCounts() {
        let (events, error) = run(
            "data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\",\"usage\":{\"billed_units\":{\"input_tokens\":5,\"output_tokens\":26}}}}\n\n"
        )
        #expect(error == nil)
        #expect(events == [.finished(.stop, providerReason: "COMPLETE")])
    }

    @Test(
        "malformed events are UPSTREAM_MALFORMED",
        arguments: [
            "data: {\"type\":\"content-delta\",\n\n",
            "data: [1, 2]\n\n",
            "data: {\"delta\":{}}\n\n",
            "data: {\"type\":\"tool-call-delta\",\"index\":3,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":\"{\"}}}}}\n\n",
            "data: {\"type\":\"tool-call-start\",\"index\":0}\n\ndata: {\"type\":\"tool-call-start\",\"index\":0}\n\n",
        ])
    func malformedEvents(body: String) {
        let (_, error) = run(body)
        #expect(error?.code == .internal)
        #expect(error?.detail.kind == .upstreamMalformed)
        #expect(error?.detail.provider == "cohere")
    }

    @Test func anErrorObjectMidStreamIsTheMappedError() {
        let (events, error) = run(
            "data: {\"type\":\"message-start\",\"id\":\"x\"}\n\ndata: {\"id\":\"e1\",\"message\":\"too many tokens: size limit exceeded\"}\n\n"
        )
        #expect(events == [.started(id: "x", model: "")])
        #expect(error?.code == .unavailable)
        #expect(error?.detail.upstreamMessage == "too many tokens: size limit exceeded")
        #expect(error?.detail.upstreamStatus == 200)
    }

    @Test func oversizedEventsAreMalformed() {
        var decoder = CohereStreamDecoder(provider: "cohere", maxEventBytes: 64)
        var events: [ChatStreamEvent] = []
        let error = thrownGatewayError {
            try decoder.decode(Array(("data: " + String(repeating: "x", count: 100) + "\n\n").utf8), into: &events)
        }
        #expect(error?.detail.kind == .upstreamMalformed)
    }
}
