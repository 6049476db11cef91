import NIOCore

/// One RELP frame, `TXNR SP COMMAND SP DATALEN [SP DATA] LF` (rsyslog's reliable event logging
/// protocol): a client's command (`open`, `syslog`, `close`) or a server's `rsp` and `serverclose`.
public struct RELPFrame: Sendable, Equatable {
    /// 1–999,999,999 from the client, echoed by the response; 0 in frames the server sends unasked.
    public var transaction: Int
    public var command: String
    public var data: [UInt8]

    public init(transaction: Int, command: String, data: [UInt8] = []) {
        self.transaction = transaction
        self.command = command
        self.data = data
    }

    /// The answer to `transaction`: a status line (`200 OK`, `500 reason`), then optional lines.
    static func response(to transaction: Int, _ text: String) -> RELPFrame {
        RELPFrame(transaction: transaction, command: "rsp", data: Array(text.utf8))
    }

    /// The server's hint that it is closing the session; the client resends what is unacknowledged.
    static let serverClose = RELPFrame(transaction: 0, command: "serverclose")

    func write(to buffer: inout ByteBuffer) {
        buffer.writeString("\(transaction) \(command) \(data.count)")
        if !data.isEmpty {
            buffer.writeInteger(UInt8(ascii: " "))
            buffer.writeBytes(data)
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }
}

/// Why bytes are not a RELP frame; the transaction number when it could be read.
public struct RELPFrameError: Error, Equatable, CustomStringConvertible {
    public var transaction: Int?
    public var reason: String

    public var description: String { "malformed RELP frame: \(reason)" }
}
