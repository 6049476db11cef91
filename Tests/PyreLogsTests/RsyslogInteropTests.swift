import Foundation
import PyreTesting
import Testing
@testable import PyreLogs

/// A real rsyslog, in the foreground with its own configuration, receives lines from logger
/// and forwards them to Pyre over TCP with octet counting, as a host's rsyslog would.
@Suite struct RsyslogInteropTests {
    static let rsyslogd = "/usr/sbin/rsyslogd"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: rsyslogd), "scripts/test installs rsyslog"))
    func rsyslogForwardsEveryLineWithItsFields() async throws {
        let fixture = try await ReceiverFixture()
        defer { Task { await fixture.stop() } }
        let work = fixture.directory.url.appendingPathComponent("rsyslog")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let inputPort = try freeLoopbackPort()
        let configuration = """
            global(workDirectory="\(work.path)")
            module(load="imtcp")
            input(type="imtcp" address="127.0.0.1" port="\(inputPort)")
            action(type="omfwd" target="127.0.0.1" port="\(fixture.tcpPort)" protocol="tcp"
                   tcp_framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"
                   queue.type="LinkedList" action.resumeRetryCount="-1")
            """
        let configurationFile = work.appendingPathComponent("rsyslog.conf")
        try configuration.write(to: configurationFile, atomically: true, encoding: .utf8)
        let rsyslog = Process()
        rsyslog.executableURL = URL(fileURLWithPath: Self.rsyslogd)
        rsyslog.arguments = ["-n", "-f", configurationFile.path, "-i", work.appendingPathComponent("pid").path]
        rsyslog.standardOutput = FileHandle.nullDevice
        try rsyslog.run()
        defer {
            // The test process blocks SIGTERM and its children inherit that mask.
            kill(rsyslog.processIdentifier, SIGKILL)
            rsyslog.waitUntilExit()
        }
        try await waitUntilListening(port: inputPort)
        let lines = (1...500).map { "order \($0) shipped" }
        try run("/usr/bin/logger", ["--server", "127.0.0.1", "--port", "\(inputPort)", "--tcp", "--rfc5424",
                                    "--tag", "shipping", "--id=99", "--priority", "local4.notice"],
                input: lines.joined(separator: "\n") + "\n")
        let records = try await fixture.records(atLeast: lines.count)
        #expect(records.map(\.message) == lines)
        #expect(records.allSatisfy {
            $0.format == .rfc5424 && $0.appName == "shipping" && $0.procID == "99" && $0.facility == .local4
                && $0.severity == .notice && $0.timestamp != nil && $0.parseError == nil
        })
    }

    private func waitUntilListening(port: Int) async throws {
        for _ in 0..<200 {
            if (try? run("/usr/bin/python3", ["-c", "import socket; socket.create_connection(('127.0.0.1', \(port)), 1).close()"])) != nil {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RsyslogNotListening(port: port)
    }

    private struct RsyslogNotListening: Error { let port: Int }
}
