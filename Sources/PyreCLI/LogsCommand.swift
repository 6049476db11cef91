import ArgumentParser
import Foundation
import PyreAPI
import PyreCore

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the system's logs (servers' output and syslog), newest last, destroyed servers' too.")

    @Argument(help: "A service (web) or a server id (web-3-8f2c); all of the system when omitted.")
    var target: String?

    @OptionGroup var options: SystemOptions

    @Option(help: "Only records received since then: a duration before now (10m, 2h, 7d) or a time (2026-11-27T10:00:00Z).")
    var since: String?

    @Option(help: "Only records received until then, in the same forms as --since.")
    var until: String?

    // Unconditional: `--generation -1` is a wrong number to explain, not a missing value.
    @Option(parsing: .unconditional, help: "Only records of this generation of servers.")
    var generation: Int?

    @Option(help: "Only messages matching this POSIX extended regular expression (as grep -E).")
    var grep: String?

    @Option(help: "Only this severity and more severe ones: emerg, alert, crit, err, warning, notice, info, debug.")
    var severity: String?

    @Option(help: "Most records to show (1-10000); the newest are shown.")
    var limit = 100

    @Flag(help: "Keep printing new records as they arrive, until interrupted.")
    var follow = false

    @Flag(help: "Print each record as one JSON object per line.")
    var json = false

    func validate() throws {
        if let generation, generation < 1 {
            throw ValidationError("--generation counts from 1 (the servers of a system's first deploy), got \(generation)")
        }
    }

    func run() async throws {
        try await reportingErrors {
            var options = options
            var target = target
            // `pyre logs DIR`: one argument naming a system's directory is the directory.
            if let only = target, options.directory == ".",
               FileManager.default.fileExists(atPath: URL(fileURLWithPath: only).appendingPathComponent("pyre.yml").path) {
                options.directory = only
                target = nil
            }
            let client = try options.client()
            if let target { try await requireKnown(target, client: client) }
            let query = parameters(target: target)
            if follow {
                try await client.followLogs(query) { Terminal.writeLine(render($0)) }
            } else {
                for record in try await client.logs(query).records { Terminal.writeLine(render(record)) }
            }
        }
    }

    /// Fails when `target` names no declared service, no live server and nothing in the log
    /// store: a typo would otherwise print nothing and look like a quiet system.
    private func requireKnown(_ target: String, client: ControlClient) async throws {
        let status = try await client.status()
        let services = status.services.map(\.name)
        let servers = status.services.flatMap { $0.servers.map(\.id) }
        if services.contains(target) || servers.contains(target) { return }
        let kind = Self.looksLikeServerID(target) ? "server" : "service"
        let stored = try await client.logs([("limit", "1"), (kind, target)])
        guard stored.records.isEmpty else { return }
        var message = "system \(status.system) has no \(kind) \"\(target)\" and no logs of one; "
        message += "its services: \(services.isEmpty ? "none" : services.joined(separator: ", "))"
        if !servers.isEmpty { message += "; its servers: \(servers.joined(separator: ", "))" }
        throw CLIFailure(message: message, code: 1)
    }

    private func parameters(target: String?) -> [(String, String)] {
        var list: [(String, String)] = [("limit", "\(limit)")]
        if let target {
            list.append((Self.looksLikeServerID(target) ? "server" : "service", target))
        }
        if let since { list.append(("since", since)) }
        if let until { list.append(("until", until)) }
        if let generation { list.append(("generation", "\(generation)")) }
        if let grep { list.append(("grep", grep)) }
        if let severity { list.append(("severity", severity)) }
        return list
    }

    /// Server ids are `SERVICE-GENERATION-XXXX`.
    static func looksLikeServerID(_ text: String) -> Bool {
        let parts = text.split(separator: "-")
        guard parts.count >= 3, let suffix = parts.last, let generation = parts.dropLast().last else { return false }
        return suffix.count == 4 && suffix.allSatisfy(\.isHexDigit) && Int(generation) != nil
    }

    private func render(_ record: LogLine) -> String {
        if json {
            let data = (try? JSONEncoder.pyre.encode(record)) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
        let time = record.receivedAt.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        let origin = record.server ?? record.hostname.map { "\($0)/\(record.appName ?? "-")" } ?? record.appName ?? "-"
        // What wrote it: the stream for shipped output, the program for syslog.
        let stream = record.source == "syslog" ? (record.server == nil ? "" : record.appName.map { " \($0)" } ?? "") : " \(record.source)"
        let label = (origin + stream).padding(toLength: max(24, origin.count + stream.count), withPad: " ", startingAt: 0)
        let severity = record.severity.padding(toLength: 7, withPad: " ", startingAt: 0)
        let colour = switch record.severity {
        case "emerg", "alert", "crit", "err": 31
        case "warning": 33
        case "debug": 2
        default: 0
        }
        var message = record.message
        if let error = record.parseError { message += Terminal.paint("  [unparsed: \(error)]", 2) }
        if record.truncated { message += Terminal.paint("  [truncated]", 2) }
        return "\(Terminal.paint(time, 2)) \(Terminal.paint(label, 1)) \(colour == 0 ? severity : Terminal.paint(severity, colour)) \(message)"
    }
}
