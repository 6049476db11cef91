import Testing
@testable import PyreLogs

@Suite struct RELPSessionTests {
    static let open = RELPFrame(transaction: 1, command: "open",
                                data: Array("relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog".utf8))

    static func opened() -> RELPSession {
        var session = RELPSession()
        _ = session.receive(open)
        return session
    }

    static func syslog(_ transaction: Int, _ text: String) -> RELPFrame {
        RELPFrame(transaction: transaction, command: "syslog", data: Array(text.utf8))
    }

    static func failure(_ transaction: Int, _ text: String) -> [RELPSession.Action] {
        [.send(.response(to: transaction, text)), .send(.serverClose), .close]
    }

    @Test func openAnswersWithTheServersOffers() {
        var session = RELPSession()
        #expect(session.receive(Self.open) == [.send(.response(to: 1, "200 OK\nrelp_version=0\nrelp_software=pyre\ncommands=syslog"))])
        #expect(!session.isClosed)
    }

    @Test func aSyslogFrameIsStoredAndAcknowledgedOnlyOnceCommitted() {
        var session = Self.opened()
        #expect(session.receive(Self.syslog(2, "<13>a")) == [.store(transaction: 2, message: Array("<13>a".utf8))])
        #expect(session.receive(Self.syslog(3, "<13>b")) == [.store(transaction: 3, message: Array("<13>b".utf8))])
        #expect(session.committed([2, 3]) == [.send(.response(to: 2, "200 OK")), .send(.response(to: 3, "200 OK"))])
    }

    @Test func closeIsAnsweredAndEndsTheSession() {
        var session = Self.opened()
        #expect(session.receive(RELPFrame(transaction: 4, command: "close")) == [.send(.response(to: 4, "")), .close])
        #expect(session.isClosed)
        #expect(session.receive(Self.syslog(5, "late")).isEmpty)
        // What was stored before the close is still acknowledged, before the close's answer.
        #expect(session.committed([3]) == [.send(.response(to: 3, "200 OK"))])
    }

    @Test func syslogBeforeOpenIsRefusedAndCloses() {
        var session = RELPSession()
        #expect(session.receive(Self.syslog(1, "<13>a")) == Self.failure(1, "500 the session is not open; send open first"))
        #expect(session.isClosed)
    }

    @Test func anOpenWithoutTheSyslogCommandIsRefused() {
        var session = RELPSession()
        let open = RELPFrame(transaction: 1, command: "open", data: Array("relp_version=0\ncommands=other".utf8))
        #expect(session.receive(open) == Self.failure(1, "500 required command syslog not offered by the client"))
    }

    @Test func anOpenWithoutAVersionIsRefused() {
        var session = RELPSession()
        let open = RELPFrame(transaction: 1, command: "open", data: Array("commands=syslog".utf8))
        #expect(session.receive(open) == Self.failure(1, "500 the open offers no relp_version"))
    }

    @Test func aSecondOpenIsRefused() {
        var session = Self.opened()
        #expect(session.receive(RELPFrame(transaction: 2, command: "open", data: Self.open.data))
                == Self.failure(2, "500 the session is already open"))
    }

    @Test func anUnknownCommandIsRefusedAndTheSessionGoesOn() {
        var session = Self.opened()
        #expect(session.receive(RELPFrame(transaction: 2, command: "starttls")) == [.send(.response(to: 2, "500 command starttls is not supported"))])
        #expect(session.receive(Self.syslog(3, "x")) == [.store(transaction: 3, message: Array("x".utf8))])
    }

    @Test func aMalformedFrameIsAnsweredWithAnErrorAndCloses() {
        var session = Self.opened()
        #expect(session.reject(RELPFrameError(transaction: 6, reason: "the command is longer than 32 letters"))
                == Self.failure(6, "500 the command is longer than 32 letters"))
        var unnumbered = Self.opened()
        #expect(unnumbered.reject(RELPFrameError(transaction: nil, reason: "x")) == Self.failure(0, "500 x"))
    }

    @Test func aFailedCommitRefusesItsMessagesAndCloses() {
        var session = Self.opened()
        #expect(session.commitFailed([2, 3], reason: "disk full") == [
            .send(.response(to: 2, "500 not stored: disk full")), .send(.response(to: 3, "500 not stored: disk full")),
            .send(.serverClose), .close,
        ])
        #expect(session.isClosed)
    }
}
