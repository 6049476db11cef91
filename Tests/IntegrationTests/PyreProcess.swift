import Foundation
import PyreAPI
import PyreAgent
import PyreCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `pyre` executable that `swift test` built next to the test bundle.
let pyreBinary: URL = {
    let testBinary = URL(fileURLWithPath: CommandLine.arguments[0])
    var directory = testBinary.deletingLastPathComponent()
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent("pyre")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: ".build/debug/pyre")
}()

/// Result of one CLI invocation.
struct CommandResult {
    var status: Int32
    var output: String
}

/// Runs `pyre ARGS` to completion.
@discardableResult
func pyre(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
    try await runTool(pyreBinary.path, arguments, includeErrors: true, environment: environment)
}

/// Runs a program to completion and collects its stdout (and stderr with `includeErrors`).
/// `environment` is added to this process's.
func runTool(_ path: String, _ arguments: [String], includeErrors: Bool = false,
             environment: [String: String] = [:]) async throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let pipe = Pipe()
    process.standardOutput = pipe
    if includeErrors { process.standardError = pipe }
    try process.run()
    // Read and wait on a thread of its own: a long-running tool (a load generator) must not
    // hold one of the few threads every test's tasks share, or two of them starve the rest.
    return try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result {
                let data = try pipe.fileHandleForReading.readToEnd() ?? Data()
                process.waitUntilExit()
                return CommandResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
            })
        }.start()
    }
}

/// A `pyre up` agent running in the background, its output in a file.
final class AgentProcess: @unchecked Sendable {
    let process = Process()
    let system: TestSystem
    let log: URL
    /// Namespaces older than this are not this agent's: a run killed before it cleaned up
    /// leaves them on the machine, and they must not fail the runs after it.
    let started = Date()

    init(_ system: TestSystem, isolation: String, environment: [String: String] = [:], arguments: [String] = []) throws {
        self.system = system
        log = system.directory.appendingPathComponent("agent-\(UUID().uuidString.prefix(4)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = pyreBinary
        process.arguments = ["up", system.directory.path, "--isolation", isolation] + arguments
        process.standardOutput = handle
        process.standardError = handle
        // PYRE_DNS_UPSTREAM=none: servers' lookups outside the zone are refused, not relayed
        // to the host's resolvers, so test traffic stays on loopback and test namespaces.
        process.environment = ProcessInfo.processInfo.environment
            .merging(["NO_COLOR": "1", "PYRE_DNS_UPSTREAM": "none"].merging(environment) { $1 }) { $1 }
        try process.run()
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// The system address the agent serves its DNS, events and syslog on (`pyre dns` says it).
    func systemAddress() async throws -> String {
        let dns = try await pyre(["dns", system.directory.path])
        return try #require(dns.output.firstMatch(of: /served at ([0-9.]+):\d+/).map { String($0.1) }, "\(dns.output)")
    }

    /// Waits until the agent reports `count` healthy servers of `web` and no running deploy.
    @discardableResult
    func waitForHealthy(count: Int, excluding old: Set<String> = [], timeout: Duration = .seconds(60)) async throws -> [StatusReport.Server] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw TestFailure("agent exited:\n\(output)") }
            if let status = try? await status(), status.runningDeployment == nil,
               let web = status.services.first(where: { $0.name == "web" }) {
                let healthy = web.servers.filter { $0.health == .healthy && !old.contains($0.id) }
                if healthy.count == count && web.servers.count == count { return healthy }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestFailure("timed out waiting for \(count) healthy servers; last status: \(String(describing: try? await status()))\nagent output:\n\(output)")
    }

    /// What ``networkLeftovers(of:since:)`` finds of this agent's system.
    func networkPiecesLeft() async throws -> [String] {
        try await networkLeftovers(of: system.name, since: started)
    }

    func status() async throws -> StatusReport {
        try await ControlClient(state: system.state).status()
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Ctrl-C and wait (blocking) for the graceful stop; for `defer`, so that a failing test
    /// leaves no servers behind.
    func terminate() {
        guard process.isRunning else { return }
        signal(SIGINT)
        for _ in 0..<600 where process.isRunning { usleep(100_000) }
        if process.isRunning { signal(SIGKILL) }
    }

    /// Ctrl-C and wait for the agent to finish its graceful stop.
    func stop() async throws {
        signal(SIGINT)
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning {
            signal(SIGKILL)
            throw TestFailure("agent did not stop within 60s:\n\(output)")
        }
        let processes = processes(withEnvironment: "PYRE_SYSTEM", system.name)
        let network = try await networkPiecesLeft()
        guard processes.isEmpty, network.isEmpty else {
            throw TestFailure("the stopped agent left processes \(processes) and network pieces \(network)")
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Host pids of every process whose environment has `KEY=value` (servers carry PYRE_SERVER
/// and PYRE_SYSTEM), whatever namespaces they run in.
func processes(withEnvironment key: String, _ value: String) -> [Int32] {
    processes(withEnvironment: [key: value])
}

/// Host pids of every process whose environment has all of `entries`.
func processes(withEnvironment entries: [String: String]) -> [Int32] {
    let needles = entries.map { Array("\($0.key)=\($0.value)".utf8) }
    let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return pids.compactMap { Int32($0) }.filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
        let variables = data.split(separator: 0).map(Array.init)
        return needles.allSatisfy(variables.contains)
    }
}

/// The processes of one server of `system`: server ids are unique within a system only, and
/// tests running at once may hold servers of the same id.
func processes(of system: TestSystem, server id: String) -> [Int32] {
    processes(withEnvironment: ["PYRE_SYSTEM": system.name, "PYRE_SERVER": id])
}

/// A process's state and command line, for a message about a process that should be gone.
func describe(process pid: Int32) -> String {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("State:") } ?? "State: gone"
    let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
        .map { String(decoding: $0, as: UTF8.self).replacingOccurrences(of: "\0", with: " ") } ?? ""
    return "pid \(pid) (\(status.dropFirst(6).trimmingCharacters(in: .whitespaces))): \(command)"
}

/// GET http://address:port/ with curl: the test talks only to the server's own address.
func fetch(_ server: StatusReport.Server) async throws -> String {
    let result = try await runTool("/usr/bin/curl", ["--noproxy", "*", "-s", "--max-time", "3", "http://\(server.address):\(server.port)/"])
    guard result.status == 0 else { throw TestFailure("curl \(server.address):\(server.port) failed: \(result.status)") }
    return result.output
}

/// The HTTP status of a GET with curl, optionally with a bearer token.
func httpStatus(_ url: String, token: String? = nil) async throws -> Int {
    var arguments = ["--noproxy", "*", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url]
    if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
    return Int(try await runTool("/usr/bin/curl", arguments).output) ?? -1
}

/// Network namespaces made since `since`, and links and routes, of `system` still present
/// (namespace mode names them `pyre-SYSTEM-…`, veths `pyv…`, the bridge `pyre-SYSTEM`).
func networkLeftovers(of system: String, since: Date) async throws -> [String] {
    let ipPath = FileManager.default.fileExists(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip"
    func ip(_ arguments: [String]) async throws -> String { try await runTool(ipPath, arguments).output }
    // Test systems have short names, so the bridge is `pyre-SYSTEM` (see NamespaceNetwork).
    let bridge = "pyre-\(system)"
    var found = try await ip(["netns", "list"]).split(separator: "\n").filter { $0.hasPrefix("pyre-\(system)-") }
        .map(String.init).filter { line in
            let name = line.split(separator: " ").first.map(String.init) ?? line
            let made = (try? FileManager.default.attributesOfItem(atPath: "/run/netns/\(name)"))?[.modificationDate] as? Date
            return made.map { $0 >= since } ?? true
        }
    found += try await ip(["-br", "link"]).split(separator: "\n").filter { $0.hasPrefix(bridge + " ") }.map(String.init)
    found += try await ip(["route"]).split(separator: "\n").filter { $0.contains("dev \(bridge) ") }.map(String.init)
    return found
}
