/// The server's side of one RELP session as a state machine without I/O: it takes the
/// client's frames and says what to send, what to store and when to close. A `syslog`
/// frame is acknowledged (`200 OK`) only through `committed`, once its record is durable.
struct RELPSession {
    enum Action: Equatable {
        /// Send this frame after everything owed before it.
        case send(RELPFrame)
        /// Store this message; call `committed` with the transaction once it is durable.
        case store(transaction: Int, message: [UInt8])
        /// Close the connection once what is before it has been sent.
        case close
    }

    private enum State { case awaitingOpen, open, closed }
    private var state = State.awaitingOpen

    /// The software this server names in its offers.
    static let software = "pyre"

    var isClosed: Bool { state == .closed }

    mutating func receive(_ frame: RELPFrame) -> [Action] {
        switch (state, frame.command) {
        case (.closed, _):
            return []
        case (.awaitingOpen, "open"):
            return open(frame)
        case (.awaitingOpen, _):
            return fail(frame.transaction, "500 the session is not open; send open first")
        case (.open, "open"):
            return fail(frame.transaction, "500 the session is already open")
        case (.open, "syslog"):
            return [.store(transaction: frame.transaction, message: frame.data)]
        case (.open, "close"):
            state = .closed
            return [.send(.response(to: frame.transaction, "")), .close]
        case (.open, _):
            // Unknown commands are refused; the session goes on (RELP lets a client probe).
            return [.send(.response(to: frame.transaction, "500 command \(frame.command) is not supported"))]
        }
    }

    /// The bytes were not a frame: the stream cannot be resynchronised, so the session ends.
    mutating func reject(_ error: RELPFrameError) -> [Action] {
        guard state != .closed else { return [] }
        return fail(error.transaction ?? 0, "500 \(error.reason)")
    }

    /// The records of `transactions` are durable. They are acknowledged even when the session
    /// has ended since: the answers owed before a `close` or an error go out before it.
    func committed(_ transactions: [Int]) -> [Action] {
        transactions.map { .send(.response(to: $0, "200 OK")) }
    }

    /// The records of `transactions` could not be stored: refuse them and end the session,
    /// so the client keeps them and sends them again on its next one.
    mutating func commitFailed(_ transactions: [Int], reason: String) -> [Action] {
        guard state != .closed else { return [] }
        state = .closed
        return transactions.map { .send(.response(to: $0, "500 not stored: \(reason)")) } + [.send(.serverClose), .close]
    }

    /// `open` carries the client's offers, one `name=value[,value…]` per line. Only
    /// `syslog` is served, so a client that does not offer it is refused.
    private mutating func open(_ frame: RELPFrame) -> [Action] {
        var offers: [Substring: [Substring]] = [:]
        for line in String(decoding: frame.data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            offers[parts[0]] = parts.count > 1 ? parts[1].split(separator: ",") : []
        }
        guard let versions = offers["relp_version"], let version = versions.first.flatMap({ Int($0) }), version >= 0 else {
            return fail(frame.transaction, "500 the open offers no relp_version")
        }
        guard offers["commands"]?.contains("syslog") == true else {
            return fail(frame.transaction, "500 required command syslog not offered by the client")
        }
        state = .open
        return [.send(.response(to: frame.transaction, "200 OK\nrelp_version=0\nrelp_software=\(Self.software)\ncommands=syslog"))]
    }

    private mutating func fail(_ transaction: Int, _ text: String) -> [Action] {
        state = .closed
        return [.send(.response(to: transaction, text)), .send(.serverClose), .close]
    }
}
