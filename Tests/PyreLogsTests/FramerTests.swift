import Foundation
import PyreCore
import Testing
@testable import PyreLogs

@Suite struct FramerTests {
    static let messages: [[UInt8]] = [
        // As logger -T --octet-count sends it.
        Array(#"<13>1 2026-11-27T04:35:26.300869+00:00 vm root - - [timeQuality tzKnown="1" isSynced="0"] tcp-octet"#.utf8),
        Array("<13>Nov 27 04:35:26 vm root: tcp-lf".utf8),
        Array("<14>1 - - - - - - with \"quotes\" and ünïcode".utf8),
        Array("<11>myapp[42]: with ident".utf8),
    ]

    static var octetCounted: [UInt8] {
        messages.flatMap { Array("\($0.count) ".utf8) + $0 }
    }

    @Test(arguments: [1, 2, 3, 7, 64, 1_000])
    func octetCountingIsTheSameWhateverThePieces(pieceSize: Int) {
        var framer = SyslogFramer()
        var frames: [SyslogFrame] = []
        for piece in Self.octetCounted.chunks(of: pieceSize) { frames += framer.feed(piece) }
        #expect(framer.framing == .octetCounting)
        #expect(frames == Self.messages.map { SyslogFrame(bytes: $0) })
        #expect(framer.finish() == nil)
    }

    @Test func octetCountingInRandomPiecesMatchesOneByteAtATime() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<50 {
            var whole = SyslogFramer(limit: 100), oneByte = SyslogFramer(limit: 100)
            let stream = Self.octetCounted
            var start = 0
            var pieced: [SyslogFrame] = []
            while start < stream.count {
                let end = min(stream.count, start + 1 + Int(random.next() % 30))
                pieced += whole.feed(Array(stream[start..<end]))
                start = end
            }
            let single = stream.flatMap { oneByte.feed([$0]) }
            #expect(pieced == single)
            #expect(pieced.count == Self.messages.count)
        }
    }

    @Test(arguments: [1, 5, 1_000])
    func lineFramingAcceptsLFCRLFAndNUL(pieceSize: Int) {
        let stream = Array("<13>Nov 27 04:35:26 vm root: one\n<13>two\r\n\r\n<13>three\u{0}<13>four\n<13>unterminated".utf8)
        var framer = SyslogFramer()
        var frames: [SyslogFrame] = []
        for piece in stream.chunks(of: pieceSize) { frames += framer.feed(piece) }
        if let last = framer.finish() { frames.append(last) }
        #expect(framer.framing == nil, "finish resets the connection")
        #expect(frames.map { String(decoding: $0.bytes, as: UTF8.self) }
            == ["<13>Nov 27 04:35:26 vm root: one", "<13>two", "<13>three", "<13>four", "<13>unterminated"])
        #expect(frames.allSatisfy { !$0.truncated })
    }

    @Test func oversizedOctetCountedFrameIsCutAndTheNextStillParses() {
        let big = Array("<13>1 - - - - - - ".utf8) + Array(repeating: UInt8(ascii: "x"), count: 300)
        let next = Array("<14>1 - host app - - - next".utf8)
        let stream = Array("\(big.count) ".utf8) + big + Array("\(next.count) ".utf8) + next
        var framer = SyslogFramer(limit: 100)
        let frames = stream.chunks(of: 17).flatMap { framer.feed($0) }
        #expect(frames == [SyslogFrame(bytes: Array(big.prefix(100)), truncated: true), SyslogFrame(bytes: next)])
        let record = SyslogParser.parse(frames[0].bytes, limit: 100, truncated: frames[0].truncated)
        #expect(record.truncated && record.format == .rfc5424 && record.message.count == 82)
        #expect(SyslogParser.parse(frames[1].bytes).hostname == "host")
    }

    @Test func oversizedLineIsCutAndTheRestOfTheLineSkipped() {
        let stream = Array(("<13>" + String(repeating: "y", count: 250) + "\n<13>app: next\n").utf8)
        var framer = SyslogFramer(limit: 64)
        let frames = stream.chunks(of: 10).flatMap { framer.feed($0) }
        #expect(frames == [SyslogFrame(bytes: Array(stream.prefix(64)), truncated: true),
                           SyslogFrame(bytes: Array("<13>app: next".utf8))])
    }

    @Test func aFrameOfExactlyTheLimitIsNotTruncated() {
        let line = Array(("<13>" + String(repeating: "z", count: 60)).utf8)
        var lines = SyslogFramer(limit: 64), counted = SyslogFramer(limit: 64)
        #expect(lines.feed(line + [0x0A]) == [SyslogFrame(bytes: line)])
        #expect(counted.feed(Array("64 ".utf8) + line) == [SyslogFrame(bytes: line)])
    }

    @Test func aHugeDeclaredLengthDoesNotAllocateIt() {
        var framer = SyslogFramer(limit: 4_096)
        #expect(framer.feed(Array("999999999 <13>1 - - - - - - ".utf8) + Array(repeating: 0x41, count: 1_000)).isEmpty)
        #expect(framer.bufferedCapacity < 2 * 4_096)
        let frames = framer.feed(Array(repeating: 0x41, count: 10_000))
        #expect(frames.count == 1 && frames[0].truncated && frames[0].bytes.count == 4_096)
        #expect(framer.bufferedCapacity < 2 * 4_096)
    }

    @Test func aLengthOfTooManyDigitsFallsBackToLineFraming() {
        var framer = SyslogFramer()
        let frames = framer.feed(Array("12345678901234567890 <13>hi\n<14>there\n".utf8))
        #expect(framer.framing == .nonTransparent)
        #expect(frames.map { String(decoding: $0.bytes, as: UTF8.self) } == ["12345678901234567890 <13>hi", "<14>there"])
    }

    @Test func aHeaderThatIsNotALengthFallsBackToLineFraming() {
        var framer = SyslogFramer()
        let first = framer.feed(Array("5 <13>x".utf8))
        let rest = framer.feed(Array("12x <13>y\n".utf8))
        #expect(first == [SyslogFrame(bytes: Array("<13>x".utf8))])
        #expect(rest == [SyslogFrame(bytes: Array("12x <13>y".utf8))])
    }

    @Test func endlessDigitsNeverStall() {
        var framer = SyslogFramer(limit: 50)
        let frames = framer.feed(Array(repeating: UInt8(ascii: "7"), count: 500))
        #expect(frames == [SyslogFrame(bytes: Array(repeating: UInt8(ascii: "7"), count: 50), truncated: true)])
        #expect(framer.bufferedCapacity < 100)
    }

    @Test func framingIsDetectedFromTheFirstByte() {
        var counted = SyslogFramer(), lines = SyslogFramer(), zero = SyslogFramer()
        _ = counted.feed(Array("\r\n3 abc".utf8))
        _ = lines.feed(Array("<13>x".utf8))
        _ = zero.feed(Array("0 abc".utf8))
        #expect(counted.framing == .octetCounting)
        #expect(lines.framing == .nonTransparent)
        #expect(zero.framing == .nonTransparent)
    }

    @Test func anUnfinishedOctetCountedFrameIsReturnedTruncatedAtTheEnd() {
        var framer = SyslogFramer()
        #expect(framer.feed(Array("20 <13>short".utf8)).isEmpty)
        #expect(framer.finish() == SyslogFrame(bytes: Array("<13>short".utf8), truncated: true))
    }
}

extension Array {
    func chunks(of size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min(count, $0 + size)]) }
    }
}
