import ModelGateCore
import ModelGateProviders
import Testing

/// The ``GatewayError`` that `body` throws, nil if it returns; any other error is recorded
/// as a test issue.
func thrownGatewayError(_ body: () throws -> Void) -> GatewayError? {
    do {
        try body()
        return nil
    } catch let error as GatewayError {
        return error
    } catch {
        Issue.record("not a GatewayError: \(error)")
        return nil
    }
}

/// The ``GatewayError`` that `body` throws, nil if it returns; any other error is recorded
/// as a test issue.
func thrownGatewayError(_ body: () async throws -> Void) async -> GatewayError? {
    do {
        try await body()
        return nil
    } catch let error as GatewayError {
        return error
    } catch {
        Issue.record("not a GatewayError: \(error)")
        return nil
    }
}

/// Feeds `pieces` to `decoder` in order and finishes it: the events, or what it threw.
func decodeStream<Decoder: ChatStreamDecoding>(_ decoder: Decoder, _ pieces: [[UInt8]]) throws(GatewayError)
    -> [ChatStreamEvent]
{
    var decoder = decoder
    var events: [ChatStreamEvent] = []
    for piece in pieces {
        try decoder.decode(piece, into: &events)
    }
    try decoder.finish()
    return events
}
