import PyreCore
import PyreLogs
import Foundation

/// Feeds the parser and the framer seeded random bytes, generated valid messages and mutations
/// of them, and checks what must hold for any input. Used by the PyreLogsFuzz executable and a test.
public struct SyslogFuzzer {
    public struct Report: Sendable {
        public var inputs = 0
        public var byFormat: [SyslogRecord.Format: Int] = [:]
        public var roundTrips = 0
        public var frames = 0
        public var slowestInput = Duration.zero
    }

    public typealias Failure = FuzzFailure

    private var generator: SyslogMessageGenerator
    private let receivedAt = Date(timeIntervalSince1970: 1_795_000_000)

    public init(seed: UInt64) {
        generator = SyslogMessageGenerator(random: SplitMix64(seed: seed))
    }

    public mutating func run(count: Int) throws(Failure) -> Report {
        var report = Report()
        var stream: [[UInt8]] = []
        let clock = ContinuousClock()
        for _ in 0..<count {
            let start = clock.now
            let (input, expected) = nextInput()
            let limit = generator.chance(4) ? generator.below(300) : SyslogParser.defaultLimit
            let record = SyslogParser.parse(input, receivedAt: receivedAt, limit: limit)
            try checkInvariants(record, input: input, limit: limit)
            if let expected, limit == SyslogParser.defaultLimit {
                try check(record, matches: expected, input: input)
                report.roundTrips += 1
            }
            report.byFormat[record.format, default: 0] += 1
            stream.append(input)
            if stream.count == 8 {
                report.frames += try checkFramer(stream)
                stream.removeAll(keepingCapacity: true)
            }
            report.slowestInput = max(report.slowestInput, clock.now - start)
            report.inputs += 1
        }
        return report
    }

    private mutating func nextInput() -> ([UInt8], SyslogRecord?) {
        switch generator.below(8) {
        case 0:
            return ((0..<generator.below(400)).map { _ in generator.randomByte() }, nil)
        case 1, 2:
            let (bytes, expected) = generator.rfc5424()
            return (bytes, expected)
        case 3:
            return (generator.bsd(), nil)
        default:
            var bytes = generator.chance(2) ? generator.rfc5424().bytes : generator.bsd()
            for _ in 0...generator.below(4) { generator.mutate(&bytes) }
            return (bytes, nil)
        }
    }

    private func checkInvariants(_ record: SyslogRecord, input: [UInt8], limit: Int) throws(Failure) {
        let kept = min(input.count, max(limit, 0))
        guard record.raw == Array(input.prefix(kept)), record.truncated == (kept < input.count) else {
            throw Failure(input: input, problem: "raw is not the input cut to \(limit) bytes, or truncated is wrong")
        }
        guard (record.format == .unparsed) == (record.parseError != nil) else {
            throw Failure(input: input, problem: "format \(record.format) with parse error \(String(describing: record.parseError))")
        }
        guard record.message.count <= record.raw.count else {
            throw Failure(input: input, problem: "a message longer than the raw input")
        }
        if record.format == .unparsed, record.parseError != .empty, record.message.isEmpty,
           record.raw.contains(where: { $0 > 0x20 }) {
            throw Failure(input: input, problem: "an unparsed record lost its text")
        }
    }

    private func check(_ record: SyslogRecord, matches expected: SyslogRecord, input: [UInt8]) throws(Failure) {
        let same = record.format == .rfc5424 && record.facility == expected.facility
            && record.severity == expected.severity && record.timestamp == expected.timestamp
            && record.hostname == expected.hostname && record.appName == expected.appName
            && record.procID == expected.procID && record.msgID == expected.msgID
            && record.structuredData == expected.structuredData && record.message == expected.message
        guard same else { throw Failure(input: input, problem: "a generated RFC 5424 message parsed differently") }
    }

    /// Frames eight messages both ways, feeds each stream whole and in random pieces, and checks
    /// that the pieces do not matter, that octet counting returns the messages exactly, and that
    /// no frame or buffer outgrows the limit. Returns the number of frames.
    private mutating func checkFramer(_ messages: [[UInt8]]) throws(Failure) -> Int {
        let limit = generator.chance(2) ? 64 : 4_096
        let messages = messages.filter { !$0.isEmpty }
        var octetCounted: [UInt8] = []
        for message in messages { octetCounted += Array("\(message.count) ".utf8) + message }
        var lines: [UInt8] = []
        for message in messages { lines += message + (generator.chance(3) ? [0x0D, 0x0A] : [0x0A]) }
        var total = 0
        for stream in [octetCounted, lines] {
            let whole = frames(of: stream, limit: limit, pieces: false)
            let pieces = frames(of: stream, limit: limit, pieces: true)
            guard whole.frames == pieces.frames else {
                throw Failure(input: stream, problem: "the framer's output depends on how the stream is split")
            }
            // The allocator may round a buffer of `limit` bytes up a little, never to twice as much.
            guard whole.frames.allSatisfy({ $0.bytes.count <= limit }), max(whole.capacity, pieces.capacity) < 2 * limit
            else { throw Failure(input: stream, problem: "the framer held more than \(limit) bytes") }
            total += whole.frames.count
        }
        let expected = messages.map { SyslogFrame(bytes: Array($0.prefix(limit)), truncated: $0.count > limit) }
        guard frames(of: octetCounted, limit: limit, pieces: true).frames == expected else {
            throw Failure(input: octetCounted, problem: "octet counting did not return the messages")
        }
        return total
    }

    private mutating func frames(of stream: [UInt8], limit: Int, pieces: Bool) -> (frames: [SyslogFrame], capacity: Int) {
        var framer = SyslogFramer(limit: limit)
        var frames: [SyslogFrame] = []
        var capacity = 0
        var start = 0
        while start < stream.count {
            let end = pieces ? min(stream.count, start + 1 + generator.below(40)) : stream.count
            frames += framer.feed(Array(stream[start..<end]))
            capacity = max(capacity, framer.bufferedCapacity)
            start = end
        }
        if let last = framer.finish() { frames.append(last) }
        return (frames, capacity)
    }
}
