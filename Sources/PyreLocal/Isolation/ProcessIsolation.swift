import Foundation
import Glibc
import Logging
import PyreCore
import PyreImages

/// A server as a plain process in a writable scratch copy of its image (`root/` in its
/// directory), listening on a loopback address of its own, `PREFIX.x.y`. It shares the
/// host's filesystem, users and network: for development and machines without root.
struct ProcessIsolation: Isolation {
    let loopbackPrefix: UInt32
    /// Held while this isolation lives, for a default prefix (see ``LoopbackClaim``).
    private let claim: FileLock?

    init(_ configuration: LocalProviderConfiguration, logger: Logger) throws {
        guard let preferred = IPv4Subnet.parse(configuration.loopbackPrefix + ".0.0"), preferred >> 24 == 127 else {
            throw PyreError(.provider, "loopback prefix `\(configuration.loopbackPrefix)` must be two octets in 127/8, such as 127.213")
        }
        guard configuration.loopbackPrefixIsDefault else {
            (loopbackPrefix, claim) = (preferred, nil)
            return
        }
        (loopbackPrefix, claim) = try LoopbackClaim.take(preferring: preferred)
        if loopbackPrefix != preferred {
            let taken = IPv4Subnet.format(loopbackPrefix).dropLast(4)
            logger.info("loopback prefix \(configuration.loopbackPrefix) is held by another Pyre system on this machine; serving on \(taken)")
        }
    }

    var mode: IsolationMode { .process }

    /// `PREFIX.0.1`, never a server's.
    var systemAddress: String { IPv4Subnet.format(loopbackPrefix + 1) }

    var isPrepared: Bool { true }
    func prepare(servers: [ServerRecord]) throws {}
    func teardown() throws {}

    func candidateAddresses() -> AnySequence<String> {
        let base = loopbackPrefix
        return AnySequence((UInt32(2)...0xfffe).lazy.map { IPv4Subnet.format(base + $0) })
    }

    /// Another system or program may hold the port, and a server that cannot bind would
    /// only fail its health gate.
    func canListen(at address: String, port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return true }
        defer { close(descriptor) }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else { return true }
        return withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    func listenAddress(forServerAt address: String) -> String { address }

    func record(of info: ServerInfo, directory: URL, image: URL) -> ServerRecord {
        var info = info
        info.imageView = Self.scratchRoot(in: directory)
        return ServerRecord(info: info, isolation: mode, pid: 0, startTime: 0)
    }

    /// The image copied into the server's scratch root, where the command runs.
    func launchCommand(for spec: ServerSpec, image: URL, record: ServerRecord, directory: URL) throws -> LaunchCommand {
        if case .root = spec.imageLocation {
            throw PyreError(.provider, "server \(spec.id)'s image is a whole-server image (it has `base:`), which needs a root "
                + "of its own: run as root with --isolation namespaces, or remove `base:` to run the app on the host's OS")
        }
        let root = Self.scratchRoot(in: directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: image.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PyreError(.provider, "image directory \(image.path) does not exist; bake the image first")
        }
        try FileTree.copy(image.path, to: root.path, writable: true)
        return LaunchCommand(arguments: spec.command, workingDirectory: root)
    }

    /// The scratch copy goes with the server's directory.
    func release(_ id: ServerID, record: ServerRecord?) throws {}

    /// Every process group of the leader's session: a server may start groups of its own.
    func signal(server leader: pid_t, _ signal: Int32) {
        let live = ProcessTable.members(ofSessionOrGroup: leader).filter { !$0.isZombie }
        for group in Set(live.map(\.group)).union([leader]) { kill(-group, signal) }
    }

    func processes(of record: ServerRecord) -> [ProcessStatus] {
        ProcessTable.members(ofSessionOrGroup: record.pid)
    }

    /// A process that started a session of its own leaves the leader's.
    var processesCanOutliveTheLeader: Bool { true }

    /// Each poll reads all of /proc: back off far, so many destroys at once stay cheap.
    var stopPollCeiling: Duration { .milliseconds(100) }

    static func scratchRoot(in directory: URL) -> URL { directory.appendingPathComponent("root") }
}
