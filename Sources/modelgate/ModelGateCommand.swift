import ArgumentParser
import ModelGateCore

@main
struct ModelGateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modelgate",
        abstract: "ModelGate: one local endpoint for every AI model.",
        version: ModelGateVersion.current,
        subcommands: [ServeCommand.self, CheckConfigCommand.self, ChatCommand.self])
}
