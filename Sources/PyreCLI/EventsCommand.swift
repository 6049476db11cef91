import ArgumentParser
import Foundation
import PyreAPI
import PyreCore

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a stream of the system's event store, or all of it, oldest first.")

    @OptionGroup var options: SystemOptions

    @Option(help: "A stream name; $all (the default) reads every stream in commit order.")
    var stream = "$all"

    // Unconditional: `--from -1` is a wrong number to explain, not a missing value.
    @Option(parsing: .unconditional, help: "First version of the stream (or position in $all) to read.")
    var from: Int64 = 0

    @Option(help: "Most events to read (1-1000); ignored with --follow.")
    var limit = 100

    @Flag(help: "Keep printing new events as they are committed, until interrupted.")
    var follow = false

    @Flag(help: "Print each event as one JSON object per line.")
    var json = false

    func validate() throws {
        guard !stream.isEmpty, !stream.contains(where: \.isWhitespace) else {
            throw ValidationError("--stream needs a stream name without spaces, such as guestbook, or $all for every stream")
        }
        guard from >= 0 else {
            throw ValidationError("--from is a version or position, 0 or more (0 is the first event), got \(from)")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let client = try options.connect(EventsClient.init(state:))
            if follow {
                try await client.follow(stream, from: from) { Terminal.writeLine(line(for: $0)) }
            } else {
                for event in try await client.read(stream, from: from, limit: limit) { print(line(for: event)) }
            }
        }
    }

    private func line(for event: EventsAPITypes.RecordedEvent) -> String {
        if json { return compact(event) }
        let position = "\(event.position)".padding(toLength: 8, withPad: " ", startingAt: 0)
        let place = "\(event.stream)@\(event.version)".padding(toLength: 24, withPad: " ", startingAt: 0)
        let type = event.type.padding(toLength: 18, withPad: " ", startingAt: 0)
        return "\(position) \(Terminal.paint(place, 1)) \(type) \(compact(event.data))"
    }

    /// One line of JSON, keys sorted, slashes as they are.
    private func compact(_ value: some Encodable) -> String {
        String(decoding: (try? EventsJSONEncoding.encode(value, escapingSlashes: false)) ?? Data(), as: UTF8.self)
    }
}
