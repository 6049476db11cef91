import Foundation
import Logging
import NIOCore
import PyreCore
import PyreTesting
@testable import PyreLogs

/// A store, its writer and a receiver on loopback with free ports, for one test.
struct ReceiverFixture {
    let directory: TemporaryDirectory
    let store: LogStore
    let writer: LogWriter
    let receiver: SyslogReceiver
    let udpPort: Int
    let tcpPort: Int
    let tlsPort: Int?
    let relpPort: Int

    /// `tls`: a function of the fixture's fresh directory giving the TLS files to use.
    init(origin: @escaping SyslogReceiver.OriginLookup = { _ in nil },
         tls: ((URL) throws -> SyslogTLSConfiguration)? = nil) async throws {
        directory = try TemporaryDirectory(prefix: "pyre-logs")
        store = try LogStore(configuration: .init(directory: directory.url.appendingPathComponent("store")))
        writer = LogWriter(store: store, logger: Logger(label: "test"))
        writer.start()
        receiver = SyslogReceiver(configuration: .init(host: "127.0.0.1", port: 0, tls: try tls?(directory.url), relpPort: 0),
                                  writer: writer, origin: origin, logger: Logger(label: "test"))
        let addresses = try await receiver.start()
        udpPort = addresses.udp.port!
        tcpPort = addresses.tcp.port!
        tlsPort = addresses.tls?.port
        relpPort = addresses.relp!.port!
    }

    func stop() async {
        await receiver.stop()
        writer.stop()
        store.close()
        directory.remove()
    }

    /// The stored records once there are at least `count`, oldest first; fails after 10 s.
    func records(atLeast count: Int) async throws -> [LogRecord] {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let records = try store.query(LogQuery(limit: 100_000, order: .oldest))
            if records.count >= count { return records }
            if ContinuousClock.now > deadline {
                throw PyreError(.logs, "expected \(count) records, have \(records.count): \(records.map(\.message))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Runs a program to its end and returns its output; throws when it fails.
@discardableResult
func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> String {
    let (status, output) = try ExternalTool.run(executable, arguments, input: input)
    guard status == 0 else {
        throw PyreError(.logs, "\(executable) \(arguments.joined(separator: " ")) exited with \(status): \(output)")
    }
    return output
}
