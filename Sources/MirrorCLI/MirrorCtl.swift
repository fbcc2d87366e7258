import ArgumentParser
import ProxyConfig

/// Root of `mirrorctl`: the operator's checks before a reload. `Sources/mirrorctl/main.swift` only calls `main`.
public struct MirrorCtl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mirrorctl",
        abstract: "Validate, diff and explain mirrord (Envoy v3) configuration files; inspect a running mirrord.",
        subcommands: [InitCommand.self, ValidateCommand.self, DiffCommand.self, RoutesCommand.self, ConfigCommand.self, StatusCommand.self]
    )

    public init() {}

    /// Exit statuses: 0 success, 1 the answer is "no" (invalid, different, no route), 2 usage or load error.
    public static func execute(_ arguments: [String]) async -> Int32 {
        do {
            var command = try Self.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let code as ExitCode {
            return code.rawValue
        } catch {
            let code = Self.exitCode(for: error)
            if code == .success {
                Output.current.print(Self.fullMessage(for: error))
                return 0
            }
            Output.current.printError(Self.fullMessage(for: error))
            return code == .validationFailure ? 2 : (code.rawValue == 1 ? 2 : code.rawValue)
        }
    }

    /// Runs a command with output captured, for tests: (status, stdout, stderr).
    public static func capture(_ arguments: [String]) async -> (status: Int32, output: String, error: String) {
        let output = Output(capturing: true)
        let status = await Output.$current.withValue(output) { await Self.execute(arguments) }
        return (status, output.standardOutput, output.standardError)
    }
}
