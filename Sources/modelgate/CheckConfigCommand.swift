import ArgumentParser

struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a configuration file and exit.")

    @Argument(help: "The YAML configuration file.")
    var file: String

    func run() async throws {
        let config = try ConfigFile.load(file)
        print(
            "\(file): ok (\(config.providers.count) providers, \(config.models.count) models, listeners: "
                + [config.unix.map { "unix://\($0.path)" }, config.tcp.map { "tcp://\($0.host):\($0.port)" }]
                .compactMap { $0 }.joined(separator: ", ") + ")")
    }
}
