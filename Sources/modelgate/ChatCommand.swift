import ArgumentParser

struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat", abstract: "Stream a chat completion to the terminal (Ctrl-C cancels).")

    @Option(name: .long, help: "Model name or alias.")
    var model: String

    @Argument(help: "The user message.")
    var message: String

    func run() async throws {
        throw CommandFailure("chat: not yet available")
    }
}
