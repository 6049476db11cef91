import Foundation
import Testing
@testable import PyreLogs

/// Real senders against the receiver: util-linux `logger`, Python's `SysLogHandler`.
@Suite struct SyslogInteropTests {
    @Test(arguments: ["--udp", "--tcp", "--octet-count"])
    func loggerInRFC5424Form(transport: String) async throws {
        let fixture = try await ReceiverFixture()
        defer { Task { await fixture.stop() } }
        let port = transport == "--udp" ? fixture.udpPort : fixture.tcpPort
        let transportFlags = transport == "--octet-count" ? ["--tcp", "--octet-count"] : [transport]
        try run("/usr/bin/logger", ["--server", "127.0.0.1", "--port", "\(port)"] + transportFlags + [
            "--rfc5424", "--tag", "checkout", "--id=4242", "--msgid", "ORDER", "--priority", "local3.warning",
            "--sd-id", "order@32473", "--sd-param", #"id="A-17""#, "--sd-param", #"note="say \"hi\"""#,
            "payment declined for order A-17",
        ])
        let record = try #require(try await fixture.records(atLeast: 1).first)
        #expect(record.format == .rfc5424)
        #expect(record.parseError == nil)
        #expect(record.facility == .local3)
        #expect(record.severity == .warning)
        #expect(record.appName == "checkout")
        #expect(record.procID == "4242")
        #expect(record.msgID == "ORDER")
        #expect(record.structuredData.contains(#"[order@32473 id="A-17" note="say \"hi\""]"#))
        #expect(record.message == "payment declined for order A-17")
        #expect(record.timestamp != nil)
        #expect(!record.hostname.isEmpty)
    }

    @Test(arguments: ["--udp", "--tcp"])
    func loggerInRFC3164Form(transport: String) async throws {
        let fixture = try await ReceiverFixture()
        defer { Task { await fixture.stop() } }
        let port = transport == "--udp" ? fixture.udpPort : fixture.tcpPort
        try run("/usr/bin/logger", ["--server", "127.0.0.1", "--port", "\(port)", transport, "--rfc3164",
                                    "--tag", "cron", "--id=77", "--priority", "daemon.err", "backup failed: disk full"])
        let record = try #require(try await fixture.records(atLeast: 1).first)
        #expect(record.format == .rfc3164)
        #expect(record.parseError == nil)
        #expect(record.facility == .daemon)
        #expect(record.severity == .err)
        #expect(record.appName == "cron")
        #expect(record.procID == "77")
        #expect(record.message == "backup failed: disk full")
        #expect(record.timestamp != nil)
        // Counted by the way it came, once its batch is committed.
        let counted: LogTransport = transport == "--udp" ? .udp : .tcp
        let counts = LogWriter.TransportCounts(received: 1, stored: 1)
        for _ in 0..<100 where fixture.writer.current.transports[counted] != counts { try await Task.sleep(for: .milliseconds(20)) }
        #expect(fixture.writer.current.transports == [counted: counts])
    }

    /// Many lines on one TCP connection, LF-framed (logger reads them from standard input).
    @Test func everyLineOfALoggerStreamArrivesInOrder() async throws {
        let fixture = try await ReceiverFixture()
        defer { Task { await fixture.stop() } }
        let lines = (1...2_000).map { "line \($0) of the stream" }
        try run("/usr/bin/logger", ["--server", "127.0.0.1", "--port", "\(fixture.tcpPort)", "--tcp", "--rfc5424",
                                    "--tag", "bulk"], input: lines.joined(separator: "\n") + "\n")
        let records = try await fixture.records(atLeast: lines.count)
        #expect(records.map(\.message) == lines)
    }

    @Test(arguments: ["SOCK_DGRAM", "SOCK_STREAM"])
    func pythonSysLogHandler(socketType: String) async throws {
        let fixture = try await ReceiverFixture()
        defer { Task { await fixture.stop() } }
        let port = socketType == "SOCK_DGRAM" ? fixture.udpPort : fixture.tcpPort
        try run("/usr/bin/python3", ["-c", """
            import logging, logging.handlers, socket
            handler = logging.handlers.SysLogHandler(address=("127.0.0.1", \(port)), socktype=socket.\(socketType),
                facility=logging.handlers.SysLogHandler.LOG_LOCAL5)
            handler.ident = "guestbook: "
            log = logging.getLogger("t")
            log.addHandler(handler)
            log.warning("entry rejected: %s", "too long")
            log.error("second")
            handler.close()
            """])
        let records = try await fixture.records(atLeast: 2)
        #expect(records.map(\.message) == ["entry rejected: too long", "second"])
        #expect(records.map(\.severity) == [.warning, .err])
        #expect(records.allSatisfy { $0.facility == .local5 && $0.appName == "guestbook" && $0.parseError == nil })
    }

    /// Garbage, oversized frames and resets never stop the receiver: a good message sent
    /// afterwards still arrives, and the garbage is stored raw with a parse-error mark.
    @Test func malformedInputIsStoredMarkedAndTheReceiverKeepsGoing() async throws {
        let fixture = try await ReceiverFixture()
        defer { Task { await fixture.stop() } }
        try run("/usr/bin/python3", ["-c", """
            import socket, os
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.sendto(b"<999>garbage", ("127.0.0.1", \(fixture.udpPort)))
            u.sendto(b"", ("127.0.0.1", \(fixture.udpPort)))
            t = socket.create_connection(("127.0.0.1", \(fixture.tcpPort)))
            t.sendall(b"70000 " + b"x" * 70000 + b"12 <13>1 - - - - - ")
            t.sendall(os.urandom(5000).replace(b"\\n", b"").replace(b"\\0", b"") + b"\\n")
            t.close()
            t = socket.create_connection(("127.0.0.1", \(fixture.tcpPort)))
            t.sendall(b"<14>1 2026-11-27T10:00:00Z host app - - - still here\\n")
            t.close()
            """])
        // Two datagrams, at least three records from the first connection, one from the second,
        // which may come last.
        let records = try await fixture.records(atLeast: 6)
        #expect(records.contains { $0.message == "<999>garbage" && $0.parseError == "invalid PRI" })
        #expect(records.contains { $0.truncated && $0.message.utf8.count < 70_000 })
        #expect(records.contains { $0.message == "still here" && $0.appName == "app" && $0.parseError == nil })
    }
}
