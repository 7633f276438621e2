import ModelGateCore
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
