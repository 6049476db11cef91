import Foundation
import Logging
import PyreTesting
@testable import PyreDNS

/// NSD (PyreTesting's ``NSDServer``) serving a zone from a temporary directory of its own.
final class NSDInstance {
    private let server: NSDServer
    private let directory: TemporaryDirectory

    var port: Int { server.port }

    private init(zone: DNSZone, port: Int) throws {
        directory = try TemporaryDirectory(prefix: "pyre-dns")
        do {
            server = try NSDServer(zoneFile: zone.zoneFileText(), apex: zone.apex, serial: zone.serial, port: port,
                                   directory: directory.url)
        } catch {
            directory.remove()
            throw error
        }
    }

    /// A port found free can be taken by another test's client before NSD binds it: retry.
    static func start(_ zone: DNSZone) async throws -> NSDInstance {
        var lastError: any Error = NSDServer.NSDError("NSD never started")
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
        server.stop()
        directory.remove()
    }
}
