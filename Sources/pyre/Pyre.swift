import ArgumentParser
import Foundation
import Logging
import PyreAgent
import PyreCore

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

    func client() throws -> ControlClient {
        do {
            return try ControlClient(state: state)
        } catch let error as PyreError {
            throw CLIFailure(message: error.description, code: 3)
        }
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
    func reportingErrors(_ body: () async throws -> Void) async throws {
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
func streamOperation(_ client: ControlClient, _ path: String) async throws {
    let last = try await client.stream(path) { line in Terminal.progress(line) }
    guard let last, last.ok == true else { throw CLIFailure(message: "", code: 1) }
}
