import ArgumentParser
import Foundation
import Logging
import PyreAgent
import PyreCore
import PyreManifest

@main
struct Pyre: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pyre",
        abstract: "Run a system of immutable servers: bake images, roll out brand-new servers, destroy the old.",
        discussion: """
        Exit codes: 0 success; 1 the operation failed (deploy failed, drift found, bad manifest);
        2 `plan` found changes; 3 no agent is running for the system.
        """,
        subcommands: [Up.self, Deploy.self, Plan.self, Status.self, History.self, DNS.self, Events.self, Logs.self, Bake.self, Verify.self, Destroy.self])
}

/// The system directory and state directory every command takes.
struct SystemOptions: ParsableArguments {
    @Argument(help: "Directory holding pyre.yml.")
    var directory: String = "."

    @Option(name: .customLong("state-dir"), help: "State directory (default: DIR/.pyre).")
    var stateDirectory: String?

    var systemURL: URL { URL(fileURLWithPath: directory).standardizedFileURL }

    var state: StateDirectory {
        StateDirectory(root: stateDirectory.map { URL(fileURLWithPath: $0) } ?? systemURL.appendingPathComponent(".pyre"))
    }

    func client() throws -> ControlClient { try connect(ControlClient.init(state:)) }

    /// A client of this system's running agent, made by `make`; exit code 3 when none runs.
    func connect<Client>(_ make: (StateDirectory) throws -> Client) throws -> Client {
        do {
            return try make(state)
        } catch let error as PyreError {
            try requireManifest()
            throw CLIFailure(message: error.description, code: 3)
        }
    }

    /// Without `--state-dir`, a directory with no manifest is the likelier mistake than an
    /// agent that is not running: say so.
    func requireManifest() throws {
        let manifest = systemURL.appendingPathComponent(Manifest.fileName)
        guard stateDirectory == nil, !FileManager.default.fileExists(atPath: manifest.path) else { return }
        throw CLIFailure(message: "there is no \(Manifest.fileName) in \(systemURL.path); run pyre in a system's "
            + "directory or pass it, e.g. pyre status examples/hello", code: 1)
    }
}

/// An error already explained to the user, with the exit code to leave with.
struct CLIFailure: Error, CustomStringConvertible {
    var message: String
    var code: Int32
    var description: String { message }
}

extension AsyncParsableCommand {
    /// Runs `body`, printing Pyre errors as one clear line and exiting with the right code.
    /// Libraries' log records below `logLevel` are dropped: a command's output is for people,
    /// its progress lines say what the libraries' info records would.
    func reportingErrors(logLevel: Logger.Level = .warning, _ body: () async throws -> Void) async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        do {
            try await body()
        } catch let failure as CLIFailure {
            if !failure.message.isEmpty { Terminal.error(failure.message) }
            throw ExitCode(failure.code)
        } catch let error as PyreError {
            Terminal.error(error.description)
            throw ExitCode(1)
        }
    }
}

/// Streams a long operation's progress from the agent and fails unless its last line is ok.
/// `operation` names it in messages: "deploy", "verify", "destroy".
func streamOperation(_ client: ControlClient, _ path: String, operation: String) async throws {
    let last = try await client.stream(path, operation: operation) { line in Terminal.progress(line) }
    guard last.ok == true else { throw CLIFailure(message: "", code: 1) }
}
