import NIOCore
import NIOEmbedded
import Testing
@testable import PyreLogs

@Suite struct RELPFrameTests {
    /// What librelp's client sends for a session of two messages.
    static let session = Array("""
        1 open 86 relp_version=0
        relp_software=librelp,1.11.0,http://librelp.adiscon.com
        commands=syslog
        2 syslog 23 <13>Dec  1 10:00:00 a b
        3 syslog 5 hello
        4 close 0

        """.utf8)

    static let frames = [
        RELPFrame(transaction: 1, command: "open",
                  data: Array("relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog".utf8)),
        RELPFrame(transaction: 2, command: "syslog", data: Array("<13>Dec  1 10:00:00 a b".utf8)),
        RELPFrame(transaction: 3, command: "syslog", data: Array("hello".utf8)),
        RELPFrame(transaction: 4, command: "close"),
    ]

    @Test(arguments: [1, 2, 5, 64, 1_000])
    func theDecoderReturnsTheSameFramesHoweverTheStreamIsSplit(pieceSize: Int) throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RELPFrameDecoder()))
        var start = 0
        while start < Self.session.count {
            let end = min(start + pieceSize, Self.session.count)
            try channel.writeInbound(ByteBuffer(bytes: Self.session[start..<end]))
            start = end
        }
        var decoded: [RELPFrame] = []
        while let frame = try channel.readInbound(as: RELPFrame.self) { decoded.append(frame) }
        #expect(decoded == Self.frames)
        _ = try channel.finish()
    }

    @Test func anUnfinishedFrameIsIncompleteNotAnError() throws {
        for end in 1..<Self.session.prefix(while: { $0 != UInt8(ascii: "\n") }).count {
            let parsed = try Self.session.prefix(end).withUnsafeBytes { try RELPFrameParser.parse($0) }
            #expect(parsed == nil, "prefix of \(end) bytes")
        }
    }

    static let malformed: [(bytes: String, transaction: Int?)] = [
        ("open 1 0\n", nil),                       // no transaction number
        ("1234567890 open 0\n", nil),              // 10 digits
        ("1\topen 0\n", nil),                      // not a space
        ("1 op3n 0\n", 1),                         // a digit in the command
        ("2 " + String(repeating: "a", count: 33) + " 0\n", 2),
        ("3  syslog 0\n", 3),                      // empty command
        ("4 syslog abc\n", 4),                     // no length
        ("5 syslog 1234567890 x\n", 5),            // 10 digits of length
        ("6 syslog 0 \n", 6),                      // data length 0, then no line feed
        ("7 syslog 5\n", 7),                       // a length but no data
        ("8 syslog 5 hello!", 8),                  // no line feed after the data
        ("9 syslog 131073 x", 9),                  // over the limit, refused before it is buffered
        ("\u{0}\u{1}garbage", nil),
    ]

    @Test(arguments: malformed)
    func aMalformedFrameIsAnErrorWithTheTransactionWhenKnown(_ bytes: String, _ transaction: Int?) {
        #expect {
            _ = try Array(bytes.utf8).withUnsafeBytes { try RELPFrameParser.parse($0) }
        } throws: { error in
            (error as? RELPFrameError)?.transaction == transaction
        }
    }

    @Test func garbageIsRejectedWithinTheBoundedHeader() throws {
        // A megabyte of digits never makes the decoder wait for more.
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RELPFrameDecoder()))
        #expect(throws: RELPFrameError.self) {
            try channel.writeInbound(ByteBuffer(bytes: [UInt8](repeating: UInt8(ascii: "7"), count: 1 << 20)))
        }
        _ = try? channel.finish()
    }

    @Test func responsesAreWrittenAsRELPFrames() {
        func text(_ frame: RELPFrame) -> String {
            var buffer = ByteBuffer()
            frame.write(to: &buffer)
            return String(buffer: buffer)
        }
        #expect(text(.response(to: 7, "200 OK")) == "7 rsp 6 200 OK\n")
        #expect(text(.response(to: 9, "")) == "9 rsp 0\n")
        #expect(text(.serverClose) == "0 serverclose 0\n")
    }
}
