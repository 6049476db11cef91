import Foundation
import Logging
import PyreAgent
import PyreEvents

/// The agent's events API over a SQLite store, run by this benchmark binary in a child
/// process (`pyre-bench replay-http-serve --store PATH`) so its memory and CPU are its own.
struct AgentEventsProcess {
    let process: Process
    let port: Int
    var pid: Int32 { process.processIdentifier }

    static func start(store: URL, token: String) throws -> AgentEventsProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = ["replay-http-serve", "--store", store.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["PYRE_BENCH_TOKEN": token]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // The child's first line says its port.
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), let first = byte.first, first != 0x0A {
            line.append(first)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).split(separator: " ").last ?? "") else {
            process.terminate()
            throw BenchmarkFailure("the events API process did not say its port: \(String(decoding: line, as: UTF8.self))")
        }
        return AgentEventsProcess(process: process, port: port)
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    /// The child's side: serves until killed, printing `listening on PORT` once it is.
    static func serve(store path: String) async throws {
        let store = try SQLiteEventStore(path: URL(fileURLWithPath: path))
        let token = ProcessInfo.processInfo.environment["PYRE_BENCH_TOKEN"] ?? ""
        let logger = Logger(label: "pyre-bench-events") { _ in SwiftLogNoOpLogHandler() }
        try await EventsAPI.serveOnLoopback(store: store, token: token, logger: logger) { port in
            // Written straight to the pipe: print's buffer would hold it back.
            FileHandle.standardOutput.write(Data("listening on \(port)\n".utf8))
        }
    }
}
