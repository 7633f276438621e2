#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import ModelGateClient
import ModelGateCore

struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat", abstract: "Stream a chat completion to the terminal (Ctrl-C cancels it).")

    @Option(name: .long, help: "Model name or alias.")
    var model: String

    @Option(
        name: .long,
        help: "Gateway address: unix:///path or tcp://host:port (default: $MODELGATE_ADDRESS or unix:///tmp/modelgate.sock).")
    var address: String?

    @Option(name: .long, help: "System prompt.")
    var system: String?

    @Option(name: .long, help: "Deadline in seconds.")
    var timeout: Double?

    @Option(name: .customLong("metadata"), help: "Call metadata as key=value (repeatable).")
    var metadata: [String] = []

    @Argument(help: "The user message.")
    var message: String

    func run() async throws {
        let target: GatewayAddress
        do {
            if let address {
                target = try GatewayAddress(parsing: address)
            } else {
                let variable = getenv("MODELGATE_ADDRESS").map { String(cString: $0) }
                target = try GatewayAddress.fromEnvironment(variable.map { ["MODELGATE_ADDRESS": $0] } ?? [:])
            }
        } catch {
            throw ValidationError(error.message)
        }
        var callMetadata: [String: String] = [:]
        for item in metadata {
            guard let equals = item.firstIndex(of: "=") else { throw ValidationError("metadata must be key=value: \(item)") }
            callMetadata[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: .system, text: system)) }
        messages.append(ChatMessage(role: .user, text: message))

        do {
            let client = try await GatewayClient.connect(to: target, agent: "modelgate-cli/\(ModelGateVersion.current)")
            defer { Task { await client.close() } }
            let stream = try await client.chatStream(
                ChatRequest(model: model, messages: messages),
                options: CallOptions(timeout: timeout.map { .milliseconds(Int64($0 * 1000)) }, metadata: callMetadata))
            // Ctrl-C sends CANCEL; the gateway answers with the final chunk and END CANCELLED.
            signal(SIGINT, SIG_IGN)
            let interrupt = DispatchSource.makeSignalSource(signal: SIGINT)
            interrupt.setEventHandler { stream.call.cancel() }
            interrupt.resume()
            defer { interrupt.cancel() }

            var usage: Usage?
            for try await chunk in stream {
                if !chunk.text.isEmpty { StandardStreams.writeOut(chunk.text) }
                if chunk.isFinal { usage = chunk.usage }
            }
            StandardStreams.writeOut("\n")
            if let usage { StandardStreams.writeError(describe(usage) + "\n") }
        } catch let error as GatewayError where error.code == .cancelled {
            StandardStreams.writeOut("\n")
            StandardStreams.writeError("[cancelled]\n")
            throw ExitCode(130)
        } catch let error as GatewayError {
            StandardStreams.writeOut("\n")
            StandardStreams.writeError("modelgate: \(error.code): \(error.message)\n")
            throw ExitCode.failure
        }
    }

    private func describe(_ usage: Usage) -> String {
        var text = "[\(usage.inputTokens) input + \(usage.outputTokens) output tokens"
        if let cost = usage.costUSD { text += ", $\(cost)" }
        return text + "]"
    }
}
