/// What one segment holds, kept next to it (`NNN.idx`) once it is sealed, so a query skips
/// segments that cannot match without reading them: the index by time, service, server,
/// generation and severity.
struct SegmentSummary: Codable, Sendable, Equatable {
    var firstSequence: UInt64
    var lastSequence: UInt64
    var count: Int = 0
    /// Bytes of whole records; the file's committed length.
    var bytes: Int = 0
    var minReceivedAt: Int64 = .max
    var maxReceivedAt: Int64 = .min
    /// Nil once a set would pass `maxNames`: the segment then cannot be skipped by that name.
    var services: Set<String>? = []
    var servers: Set<String>? = []
    var appNames: Set<String>? = []
    var generations: Set<Int>? = []
    /// Bit `s` set when a record of severity `s` is present.
    var severities: UInt8 = 0

    /// A senders' flood of distinct names must not make the index as large as the data.
    static let maxNames = 1_000

    init(firstSequence: UInt64) {
        self.firstSequence = firstSequence
        lastSequence = firstSequence &- 1
    }

    mutating func add(_ record: LogRecordView, names: inout RecentNames) {
        count += 1
        bytes += record.frameSize
        lastSequence = record.sequence
        minReceivedAt = min(minReceivedAt, record.receivedAt)
        maxReceivedAt = max(maxReceivedAt, record.receivedAt)
        severities |= 1 << (record.severity & 7)
        // Records come in runs from the same sender: only a name not seen just before is inserted.
        if names.isNew(record.field(0), slot: 0) { Self.insert(String(decoding: record.field(0), as: UTF8.self), into: &services) }
        if names.isNew(record.field(1), slot: 1) { Self.insert(String(decoding: record.field(1), as: UTF8.self), into: &servers) }
        if names.isNew(record.field(3), slot: 2) { Self.insert(String(decoding: record.field(3), as: UTF8.self), into: &appNames) }
        if let generation = record.generation { Self.insert(generation, into: &generations) }
    }

    private static func insert<T: Hashable>(_ value: T, into set: inout Set<T>?) {
        guard set != nil else { return }
        set!.insert(value)
        if set!.count > maxNames { set = nil }
    }

    /// The last service, server and app name added, so runs of one sender cost no allocation.
    struct RecentNames {
        private var last: [[UInt8]?] = [nil, nil, nil]

        init() {}

        mutating func isNew(_ name: UnsafeRawBufferPointer, slot: Int) -> Bool {
            if let previous = last[slot], previous.elementsEqual(name) { return false }
            last[slot] = Array(name)
            return true
        }
    }

    /// False only when no record in the segment can match `query`.
    func mayMatch(_ query: LogQuery) -> Bool {
        guard count > 0 else { return false }
        if let since = query.since, maxReceivedAt < since { return false }
        if let until = query.until, minReceivedAt > until { return false }
        if let after = query.afterSequence, lastSequence <= after { return false }
        if let severity = query.severity, severities & UInt8(truncatingIfNeeded: (1 << (Int(severity.rawValue) + 1)) - 1) == 0 {
            return false
        }
        if let generation = query.generation, let generations, !generations.contains(generation) { return false }
        if let server = query.server, let servers, !servers.contains(server) { return false }
        if let service = query.service, let services, let appNames,
           !services.contains(service), !appNames.contains(service) {
            return false
        }
        return true
    }
}
