import Foundation
import Glibc
import Logging
import PyreCore
import PyreLogs

/// Ships what servers write to standard output and error to the log store, line by line,
/// without the application doing anything. Each server writes `stdout.log` and `stderr.log`
/// in its directory; the shipper follows them and commits new lines as records attributed
/// to the server (service, server id, generation, stream). How far each file was shipped is
/// kept in `shipped.json` next to them, written after the commit: a restarted agent
/// carries on where the last one stopped, and at worst ships a few lines twice, never loses
/// them. `finish(_:)` ships the last bytes before a server's directory is removed.
public actor OutputShipper {
    /// Commits records and returns once they are durable.
    public typealias Sink = @Sendable ([LogRecord]) async throws -> Void

    private let serversDirectory: URL
    private let sink: Sink
    private let logger: Logger
    /// Servers seen so far, by directory name: who they are and how far they were shipped.
    private var servers: [String: (origin: LogOrigin, offsets: ShippedOffsets)] = [:]
    /// The pass shipping each server now: a second one (finish during a periodic pass) waits
    /// for it, or both would read from the same offsets and ship lines twice.
    private var inFlight: [String: Task<Void, Never>] = [:]
    /// Lines longer than this are cut and marked truncated, as syslog messages are.
    static let lineLimit = SyslogParser.defaultLimit
    /// Bytes read from one file per pass, so one chatty server cannot hold up the others.
    static let readLimit = 4 << 20

    public init(serversDirectory: URL, sink: @escaping Sink, logger: Logger) {
        self.serversDirectory = serversDirectory
        self.sink = sink
        self.logger = logger
    }

    static func file(_ stream: LogRecord.Source, in directory: URL) -> URL {
        directory.appendingPathComponent("\(stream).log")
    }

    /// Ships new lines of every server every `interval` until cancelled.
    public func run(every interval: Duration = .milliseconds(50)) async {
        while !Task.isCancelled {
            let names = Set((try? FileManager.default.contentsOfDirectory(atPath: serversDirectory.path)) ?? [])
            for name in servers.keys where !names.contains(name) { servers[name] = nil }
            for name in names {
                await ship(serversDirectory.appendingPathComponent(name), final: false)
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Ships everything the server wrote, an unfinished last line too; called once its
    /// processes have stopped and before its directory is removed.
    public func finish(_ directory: URL) async {
        await ship(directory, final: true)
    }

    private func ship(_ directory: URL, final: Bool) async {
        let name = directory.lastPathComponent
        // Chained, not polled: each pass starts once the one before it for this server ended.
        let previous = inFlight[name]
        let pass = Task {
            await previous?.value
            await shipNow(directory, final: final)
        }
        inFlight[name] = pass
        await pass.value
        if inFlight[name] == pass { inFlight[name] = nil }
    }

    private func shipNow(_ directory: URL, final: Bool) async {
        let name = directory.lastPathComponent
        if servers[name] == nil {
            // Its record is written before its process starts; until then there is nothing to ship.
            guard let record = ServerRecord.load(from: directory) else { return }
            let origin = LogOrigin(service: record.info.service, server: record.info.id.rawValue,
                                   generation: record.info.generation)
            servers[name] = (origin, ShippedOffsets.load(from: directory))
        }
        guard let (origin, shipped) = servers[name] else { return }
        var offsets = shipped
        var records: [LogRecord] = []
        for stream in [LogRecord.Source.stdout, .stderr] {
            let file = Self.file(stream, in: directory)
            // Most passes find nothing new: a stat, no open.
            guard Self.size(of: file) > offsets[stream] else { continue }
            let (lines, consumed) = Self.newLines(of: file, from: offsets[stream], final: final)
            records += lines.map { line in
                var record = LogRecord(line: line.text, source: stream, origin: origin)
                record.truncated = line.truncated
                return record
            }
            offsets[stream] += consumed
        }
        guard !records.isEmpty else { return }
        do {
            try await sink(records)
            servers[name]?.offsets = offsets
            try offsets.save(in: directory)
        } catch {
            logger.warning("could not ship the output of \(origin.server): \(error); retrying")
        }
    }

    private static func size(of file: URL) -> Int {
        var status = stat()
        return stat(file.path, &status) == 0 ? Int(status.st_size) : 0
    }

    /// Complete lines after `offset` (all bytes when `final`) and how many bytes they took.
    static func newLines(of file: URL, from offset: Int, final: Bool) -> (lines: [(text: String, truncated: Bool)], consumed: Int) {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return ([], 0) }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: UInt64(offset))) != nil,
              let data = try? handle.read(upToCount: readLimit), !data.isEmpty else { return ([], 0) }
        var lines: [(String, Bool)] = []
        var start = data.startIndex
        var consumed = 0
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: UInt8(ascii: "\n"))
            let length = (end ?? data.endIndex) - start
            if end == nil && length < lineLimit && !final { break }
            let kept = min(length, lineLimit)
            var text = data[start..<(start + kept)]
            if text.last == UInt8(ascii: "\r") { text = text.dropLast() }
            lines.append((String(decoding: text, as: UTF8.self), length > lineLimit || (end == nil && kept == lineLimit)))
            let next = end.map { $0 + 1 } ?? (start + kept)
            consumed += next - start
            start = next
        }
        return (lines, consumed)
    }
}

/// How many bytes of each output file were shipped.
struct ShippedOffsets: Codable {
    var stdout = 0
    var stderr = 0

    static let fileName = "shipped.json"

    subscript(stream: LogRecord.Source) -> Int {
        get { stream == .stderr ? stderr : stdout }
        set { if stream == .stderr { stderr = newValue } else { stdout = newValue } }
    }

    static func load(from directory: URL) -> ShippedOffsets {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(fileName)) else { return ShippedOffsets() }
        return (try? JSONDecoder().decode(ShippedOffsets.self, from: data)) ?? ShippedOffsets()
    }

    func save(in directory: URL) throws {
        try JSONEncoder().encode(self).write(to: directory.appendingPathComponent(Self.fileName), options: .atomic)
    }
}
