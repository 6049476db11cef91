import ArgumentParser
import Foundation
import PyreAPI
import PyreCore

struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deploy an earlier release again: the one before the current release, or --to N.")

    @OptionGroup var options: SystemOptions

    @Option(help: "The deployment whose release to restore (`pyre history` lists them).")
    var to: Int?

    @Flag(help: "Do not ask; required when standard input is not a terminal.")
    var yes = false

    func run() async throws {
        try await reportingErrors {
            let client = try options.client()
            let plan = try await client.plan(rollback: true, to: to)
            print(plan.text)
            if !yes {
                guard isatty(STDIN_FILENO) == 1 else {
                    throw CLIFailure(message: "not rolling back without --yes when standard input is not a terminal", code: 1)
                }
                print("Roll back? [y/N] ", terminator: "")
                guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                    throw CLIFailure(message: "nothing changed", code: 1)
                }
            }
            try await streamOperation { try await client.rollback(to: to, onEvent: $0) }
        }
    }
}

struct Promote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Carry on with the deploy whose canaries passed (`pyre deploy --canary-only`).")

    @OptionGroup var options: SystemOptions

    func run() async throws {
        try await reportingErrors { try await streamOperation { try await options.client().promote(onEvent: $0) } }
    }
}

/// How `pyre history` prints deployments and one deployment's timeline.
enum TimelineText {
    /// What follows a deployment's line: its reason, what it restored or what undid it.
    static func note(on record: DeploymentRecord) -> String? {
        var notes: [String] = []
        if let restores = record.restores { notes.append("restores #\(restores)") }
        if let by = record.rolledBackBy { notes.append("rolled back by #\(by)") }
        if let reason = record.reason { notes.append(reason) }
        return notes.isEmpty ? nil : notes.joined(separator: "; ")
    }

    static func render(_ timeline: TimelineReport) -> String {
        let record = timeline.deployment
        var text = "deployment #\(record.number): \(record.trigger.rawValue), \(record.outcome.rawValue)"
        if let duration = record.duration { text += String(format: " after %.1fs", duration) }
        if let note = note(on: record) { text += " (\(note))" }
        text += "\n"
        let start = record.startedAt
        for step in timeline.steps {
            let offset = String(format: "%+8.2fs", step.at.timeIntervalSince(start))
            let server = (step.server ?? "").padding(toLength: 18, withPad: " ", startingAt: 0)
            text += "\(offset)  \(server) \(step.step)" + (step.detail.isEmpty ? "" : ": \(step.detail)") + "\n"
        }
        for failed in timeline.failedServers {
            text += "\nlast log lines of \(failed.server):\n"
            text += failed.lines.isEmpty ? "  (none)\n" : failed.lines.map { "  │ \($0)\n" }.joined()
        }
        return text
    }
}
