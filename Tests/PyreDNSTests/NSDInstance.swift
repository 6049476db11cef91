import Foundation
import PyreTesting
import Logging
import Testing
@testable import PyreDNS

/// NSD serving a zone on a loopback port from its own temporary directory, in the
/// foreground, rate limiting off.
final class NSDInstance {
    let port: Int
    private let process = Process()
    private let directory: TemporaryDirectory

    init(zone: DNSZone, port: Int) throws {
        self.port = port
        directory = try TemporaryDirectory(prefix: "pyre-dns")
        let dir = directory.path
        try zone.zoneFileText().write(toFile: "\(dir)/zone.txt", atomically: true, encoding: .utf8)
        let configuration = """
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
              server-count: 1
              rrl-ratelimit: 0
              hide-version: yes
              hide-identity: yes
            remote-control:
              control-enable: no
            zone:
              name: \(zone.apex)
              zonefile: "\(dir)/zone.txt"

            """
        try configuration.write(toFile: "\(dir)/nsd.conf", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: try #require(ExternalTool.path("nsd")))
        process.arguments = ["-d", "-c", "\(dir)/nsd.conf"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitUntilServing(zone)
    }

    /// NSD answers the apex SOA once it has loaded the zone.
    private func waitUntilServing(_ zone: DNSZone) throws {
        let probe = QueryBuilder(name: zone.apex, type: DNSType.soa).bytes
        for _ in 0..<40 {
            guard process.isRunning else { break }
            if let reply = try? LoopbackClient.udp(probe, port: port, timeoutSeconds: 1),
               let message = try? DNSMessage(decoding: reply), message.answers.count == 1 {
                return
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
        let log = (try? String(contentsOfFile: "\(directory.path)/nsd.log", encoding: .utf8)) ?? ""
        stop()
        throw LoopbackClient.Failure(description: "NSD did not start on port \(port): \(log)")
    }

    /// A port found free can be taken by another test's client before NSD binds it: retry.
    static func start(_ zone: DNSZone) async throws -> NSDInstance {
        var lastError: any Error = LoopbackClient.Failure(description: "NSD never started")
        for _ in 0..<5 {
            do {
                return try NSDInstance(zone: zone, port: try await freeLoopbackPort())
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// A port free for UDP and TCP on 127.0.0.1, found by letting a DNSServer pick one.
    private static func freeLoopbackPort() async throws -> Int {
        let probe = DNSServer(zone: try TestZone.make(), logger: Logger(label: "pyre.dns.test"))
        let port = try await probe.start(host: "127.0.0.1", port: 0)
        await probe.stop()
        return port
    }

    func stop() {
        if process.isRunning {
            // SIGKILL: NSD inherits this process's blocked SIGTERM; its children exit with it.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        directory.remove()
    }
}
