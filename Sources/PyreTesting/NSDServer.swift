import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// NSD serving one zone on a loopback port from a directory of its own, in the foreground,
/// rate limiting off: the peer the DNS tests compare Pyre with and the DNS benchmark
/// measures it against. Ready once `dig` gets the zone's SOA with its serial.
public final class NSDServer: @unchecked Sendable {
    public let port: Int
    private let process = Process()
    private let directory: URL

    /// `zoneFile` is the zone in master-file form; `serverCount` NSD processes share the port.
    public init(zoneFile: String, apex: String, serial: UInt32, port: Int, directory: URL, serverCount: Int = 1) throws {
        self.port = port
        self.directory = directory
        let dir = directory.path
        try zoneFile.write(toFile: "\(dir)/zone.txt", atomically: true, encoding: .utf8)
        try """
            server:
              ip-address: 127.0.0.1@\(port)
              username: ""
              chroot: ""
              zonesdir: "\(dir)"
              pidfile: "\(dir)/nsd.pid"
              xfrdfile: "\(dir)/xfrd.state"
              xfrdir: "\(dir)"
              zonelistfile: "\(dir)/zone.list"
              logfile: "\(dir)/nsd.log"
              database: ""
              verbosity: 0
              server-count: \(serverCount)
              reuseport: yes
              rrl-ratelimit: 0
              hide-version: yes
              hide-identity: yes
            remote-control:
              control-enable: no
            zone:
              name: \(apex)
              zonefile: "\(dir)/zone.txt"

            """.write(toFile: "\(dir)/nsd.conf", atomically: true, encoding: .utf8)
        guard let nsd = ExternalTool.path("nsd"), let dig = ExternalTool.path("dig") else {
            throw NSDError("NSD and dig are needed (Debian packages nsd and bind9-dnsutils; scripts/test installs them)")
        }
        process.executableURL = URL(fileURLWithPath: nsd)
        process.arguments = ["-d", "-c", "\(dir)/nsd.conf"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<40 {
            guard process.isRunning else { break }
            let answer = try? ExternalTool.run(dig, ["@127.0.0.1", "-p", "\(port)", "+short", "+time=1", "+tries=1", apex, "SOA"])
            if answer?.output.contains(" \(serial) ") == true { return }
            Thread.sleep(forTimeInterval: 0.25)
        }
        let log = (try? String(contentsOfFile: "\(dir)/nsd.log", encoding: .utf8)) ?? ""
        stop()
        throw NSDError("NSD did not start on port \(port): \(log)")
    }

    public func stop() {
        guard process.isRunning else { return }
        // SIGKILL: NSD inherits this process's blocked SIGTERM; its children exit with it.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    public struct NSDError: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}
