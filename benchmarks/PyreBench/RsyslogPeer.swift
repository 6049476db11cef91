import Foundation
import PyreTesting
#if canImport(Glibc)
import Glibc
#endif

/// Debian's rsyslog in the foreground, receiving with imptcp and imudp on loopback and
/// writing every message to one file with omfile: the peer of `PyreBench logs`.
final class RsyslogPeer {
    let tcpPort: Int
    let udpPort: Int
    let output: URL
    private let process = Process()
    private var counted = 0
    private var offset: UInt64 = 0

    init(directory: URL) throws {
        let rsyslogd = try tool("rsyslogd")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        tcpPort = try freeLoopbackPort()
        udpPort = try freeLoopbackPort()
        output = directory.appendingPathComponent("messages.log")
        let configuration = """
            global(workDirectory="\(directory.path)")
            module(load="imptcp")
            module(load="imudp")
            input(type="imptcp" address="127.0.0.1" port="\(tcpPort)")
            input(type="imudp" address="127.0.0.1" port="\(udpPort)" rcvbufSize="8m")
            action(type="omfile" file="\(output.path)")
            """
        let file = directory.appendingPathComponent("rsyslog.conf")
        try configuration.write(to: file, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: rsyslogd)
        process.arguments = ["-n", "-f", file.path, "-i", directory.appendingPathComponent("pid").path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            if let descriptor = try? SyslogLoader.connect(port: tcpPort) {
                close(descriptor)
                return
            }
            usleep(20_000)
        }
        throw BenchmarkFailure("rsyslogd did not start listening on 127.0.0.1:\(tcpPort)")
    }

    /// Lines written to the output file so far.
    func storedCount() -> Int {
        guard let handle = try? FileHandle(forReadingFrom: output) else { return counted }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = (try? handle.readToEnd()) ?? Data()
        offset += UInt64(data.count)
        counted += data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        return counted
    }

    func stop() {
        // SIGKILL: rsyslogd inherits this process's blocked SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
