import ArgumentParser
import Foundation
import Logging
import PyreAPI
import PyreCore
import PyreManifest

/// The commands that talk to a running agent or bake without one; `pyre` adds `up`,
/// which runs the agent.
public enum PyreCommands {
    public static let all: [any ParsableCommand.Type] = [
        Deploy.self, Plan.self, Rollback.self, Promote.self, Status.self, History.self, DNS.self, Events.self, Logs.self, Bake.self, Verify.self,
        Destroy.self, ImageCommand.self, UI.self,
    ]
}

/// The system directory and state directory every command takes.
public struct SystemOptions: ParsableArguments {
    @Argument(help: "Directory holding pyre.yml.")
    var directory: String = "."

    @Option(name: .customLong("state-dir"), help: "State directory (default: DIR/.pyre).")
    var stateDirectory: String?

    public init() {}

    public var systemURL: URL { URL(fileURLWithPath: directory).standardizedFileURL }

    public var state: StateDirectory {
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
    public func reportingErrors(logLevel: Logger.Level = .warning, _ body: () async throws -> Void) async throws {
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

/// Runs a streamed operation of the control API, printing its progress, and fails unless
/// its result is ok.
func streamOperation(_ operation: (_ onEvent: (ProgressEvent) -> Void) async throws -> ProgressEvent) async throws {
    let result = try await operation { Terminal.progress($0) }
    guard result.ok == true else { throw CLIFailure(message: "", code: 1) }
}
