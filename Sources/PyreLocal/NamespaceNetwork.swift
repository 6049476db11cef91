import Foundation
import Logging
import PyreCore
import PyreImages
import PyrePOSIX

/// The network of a system in namespace mode, built with iproute2:
///
/// - an `unreachable` route for the whole subnet (metric ``guardRouteMetric``), installed
///   first, so traffic for the subnet never falls through to the default route;
/// - a bridge `pyre-<system>` (15 characters at most) holding the subnet's first address,
///   whose connected route (metric 0) wins over the guard while the bridge exists;
/// - the nftables tables of ``NamespaceFirewall``: servers send only as themselves and reach
///   only the agent's services on the host;
/// - per server, a named network namespace `pyre-<system>-<id>` with loopback up and `eth0`
///   (with a MAC of its own, ``mac(for:)``), the peer of a veth pair whose host end
///   `pyv<hash>` is a port of the bridge, the server's address, and a default route via the
///   bridge address;
/// - per server, `/etc/netns/<namespace>/{hosts,resolv.conf}`, which `ip netns exec`
///   bind-mounts over `/etc`.
///
/// Nothing else on the host changes: no IP forwarding, no NAT, no rules outside the
/// system's own tables.
struct NamespaceNetwork {
    static let guardRouteMetric = 4242

    let system: String
    let subnet: IPv4Subnet
    let ip: String
    let services: SystemServicePorts
    let firewall: NamespaceFirewall
    let logger: Logger

    init(system: String, subnet: IPv4Subnet, services: SystemServicePorts = SystemServicePorts(), logger: Logger) throws {
        guard let ip = ExecutableLookup.find("ip") else {
            throw PyreError(.provider, "namespace isolation needs iproute2's `ip`; install iproute2 or use --isolation process")
        }
        self.system = system
        self.subnet = subnet
        self.ip = ip
        self.services = services
        self.logger = logger
        firewall = try NamespaceFirewall(system: system, bridge: Self.bridgeName(of: system),
                                         bridgeAddress: subnet.address(at: 1), logger: logger)
    }

    /// `pyre-SYSTEM` when that fits the kernel's 15 characters, else `pyre-` and a hash of the
    /// name, so that two long names never share a bridge.
    var bridgeName: String { Self.bridgeName(of: system) }

    static func bridgeName(of system: String) -> String {
        let plain = "pyre-\(system)"
        return plain.count <= 15 ? plain : "pyre-" + configHash([system]).prefix(10)
    }
    var bridgeAddress: String { subnet.address(at: 1) }
    /// Offsets in the subnet that servers may use: after the bridge, before the broadcast address.
    var serverOffsets: ClosedRange<UInt32> { 2...(subnet.size - 2) }

    func namespaceName(for id: ServerID) -> String { "pyre-\(system)-\(id.rawValue)" }

    /// Host end of a server's veth pair: `pyv` and a hash of system and id, within IFNAMSIZ.
    /// How every host end of a server's veth pair is named (all systems'): the firewall drops
    /// whatever reaches the host on one of them rather than through the bridge.
    static let hostInterfacePrefix = "pyv"

    func hostInterfaceName(for id: ServerID) -> String {
        Self.hostInterfacePrefix + configHash([system, id.rawValue]).prefix(12)
    }

    /// The MAC of a server's `eth0`, fixed when the veth pair is made so the anti-spoofing
    /// rules can name it: locally administered, from a hash of system and id.
    func mac(for id: ServerID) -> String {
        let hex = Array(configHash(["mac", system, id.rawValue]).prefix(10))
        return (["02"] + stride(from: 0, to: 10, by: 2).map { String(hex[$0...$0 + 1]) }).joined(separator: ":")
    }

    func firewallPort(for id: ServerID, address: String, hostInterface: String? = nil) -> FirewallPort {
        FirewallPort(interface: hostInterface ?? hostInterfaceName(for: id), mac: mac(for: id), address: address)
    }

    /// Creates the guard route, the firewall (allowing `servers`, those that exist already)
    /// and the bridge; does nothing that is already there.
    func prepare(servers: [FirewallPort]) throws {
        if let other = try interfacesUsingSubnet().first(where: { $0 != bridgeName }) {
            throw PyreError(.provider, "subnet \(subnet) is already used by interface \(other) (another Pyre system?); "
                + "give this system its own with `pyre up --subnet 10.213.N.0/24`")
        }
        try ip("route", "replace", "unreachable", subnet.description, "metric", String(Self.guardRouteMetric))
        // Before the bridge: no server may send a frame the rules did not see.
        try firewall.install(services: services, ports: servers)
        if !linkExists(bridgeName) {
            try ip("link", "add", bridgeName, "type", "bridge")
        }
        try ip("addr", "replace", "\(bridgeAddress)/\(subnet.prefixLength)", "dev", bridgeName)
        try ip("link", "set", bridgeName, "up")
        // A health probe can reach a server before its sandbox has brought `eth0` up (on a
        // busy machine, a while before). By the kernel's defaults the host then asks for the
        // server's MAC again only a second later, holding the probe's SYN meanwhile. Asking
        // every 50 ms, up to 20 times, sends the SYN as soon as `eth0` is up.
        let neighbour = "/proc/sys/net/ipv4/neigh/\(bridgeName)/"
        try "50\n".write(toFile: neighbour + "retrans_time_ms", atomically: false, encoding: .utf8)
        try "20\n".write(toFile: neighbour + "mcast_solicit", atomically: false, encoding: .utf8)
    }

    /// Removes the bridge, then the guard route and the firewall. Missing pieces are fine.
    func teardown() throws {
        if linkExists(bridgeName) {
            try ip("link", "del", bridgeName)
        }
        let guardRoute = ["route", "del", "unreachable", subnet.description, "metric", String(Self.guardRouteMetric)]
        if !(try run(["route", "show", "type", "unreachable", subnet.description])).isEmpty {
            try ip(guardRoute)
        }
        try firewall.remove()
    }

    /// Creates the server's namespace, veth pair, /etc files and its firewall entry.
    func setUpServer(_ id: ServerID, address: String) throws {
        let namespace = namespaceName(for: id)
        let etc = Self.etcDirectory(of: namespace)
        try FileManager.default.createDirectory(at: etc, withIntermediateDirectories: true)
        let hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost\n\(address)\t\(id.rawValue)\n"
        try hosts.write(to: etc.appendingPathComponent("hosts"), atomically: true, encoding: .utf8)
        // A later issue runs the system's DNS server on the bridge address.
        try "nameserver \(bridgeAddress)\n".write(to: etc.appendingPathComponent("resolv.conf"),
                                                   atomically: true, encoding: .utf8)
        let host = hostInterfaceName(for: id)
        // One `ip -batch` run instead of one process per step; `pyre-sandbox` configures the
        // inside of the namespace. The address may have belonged to a destroyed server a
        // moment ago: flushing the host's neighbour entry keeps the old MAC from
        // black-holing the new server.
        try batch([
            "netns add \(namespace)",
            "link add \(host) type veth peer name eth0 address \(mac(for: id)) netns \(namespace)",
            "link set \(host) master \(bridgeName) up",
            "neigh flush to \(address) dev \(bridgeName)",
        ])
        try firewall.allow(firewallPort(for: id, address: address, hostInterface: host))
    }

    /// Removes what ``setUpServer(_:address:)`` made; run after the server's processes are gone.
    func tearDownServer(namespace: String, hostInterface: String?, port: FirewallPort?) throws {
        // Removing the namespace's name is enough: the kernel then frees its veth pair in the
        // background, batched with others. Deleting each pair ourselves costs two RCU grace
        // periods under the rtnl lock, about 25 ms per server, one server at a time. The host
        // name is never reused; destroy still waits for it to go, so it leaves nothing behind.
        let path = "/run/netns/\(namespace)"
        if FileManager.default.fileExists(atPath: path) {
            // What `ip netns del` does, without a process per server.
            guard umount2(path, Int32(MNT_DETACH)) == 0 || errno == EINVAL, unlink(path) == 0 || errno == ENOENT else {
                throw PyreError(.provider, "could not remove network namespace \(namespace): \(String(cString: strerror(errno))); "
                    + "remove it with `ip netns del \(namespace)` and destroy again")
            }
            if let hostInterface { waitUntilGone(hostInterface) }
        } else if let hostInterface, FileManager.default.fileExists(atPath: "/sys/class/net/\(hostInterface)") {
            // A pair whose namespace is gone already.
            try batch(["link del \(hostInterface)"], force: true)
        }
        if let port { firewall.forget(port) }
        try FileTree.remove(Self.etcDirectory(of: namespace).path)
    }

    /// Waits (on the caller's own thread) up to 200 ms for the kernel to free a veth;
    /// deletes it directly if it is still there.
    private func waitUntilGone(_ interface: String) {
        for _ in 0..<40 {
            guard FileManager.default.fileExists(atPath: "/sys/class/net/\(interface)") else { return }
            usleep(5_000)
        }
        _ = try? batch(["link del \(interface)"], force: true)
    }

    /// The command line that runs `command` in the server's namespaces: `pyre-sandbox`
    /// (Sources/pyre-sandbox) does the namespace and mount work in one process. The command
    /// runs as the view's user (nil: nobody) with no capabilities, but CAP_NET_BIND_SERVICE
    /// for a `port` below 1024.
    func sandboxCommand(for id: ServerID, address: String, view: SandboxView, port: Int,
                        command: [String]) throws -> [String] {
        let (image, options): (URL, [String]) = switch view {
        case .hostOS(let image, let user, let hidden):
            (image, (user.map { ["-u", $0] } ?? []) + hidden.flatMap { ["-h", $0] })
        case .imageRoot(let root, let user):
            (root.directory, ["-r", "-w", root.workdir, "-t", String(root.tmpfsBytes), "-u", "\(user.uid):\(user.gid)"])
        }
        return [try SandboxHelper.path(for: "namespace isolation", otherwise: "or use --isolation process")] + options + (port < 1024 ? ["-b"] : [])
            + [namespaceName(for: id), "\(address)/\(subnet.prefixLength)", bridgeAddress, image.path, id.rawValue] + command
    }

    static func etcDirectory(of namespace: String) -> URL {
        URL(fileURLWithPath: "/etc/netns").appendingPathComponent(namespace)
    }

    func linkExists(_ name: String) -> Bool {
        (try? ProcessSpawner.run([ip, "link", "show", "dev", name]).status) == 0
    }

    private func ip(_ arguments: String...) throws { try ip(arguments) }

    /// Runs `commands` (one `ip` command line each, without `ip`) in one `ip -batch`, in
    /// `namespace` when given; stops at the first that fails, unless `force` (then the caller
    /// checks the outcome). Returns the output.
    @discardableResult
    private func batch(_ commands: [String], force: Bool = false) throws -> String {
        let options = force ? ["-force"] : []
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-ip-\(UUID().uuidString)")
        try (commands.joined(separator: "\n") + "\n").write(to: file, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, output) = try ProcessSpawner.run([ip] + options + ["-batch", file.path])
        logger.trace("ip \(options.joined(separator: " ")) -batch: \(commands) -> \(status)")
        guard status == 0 || force else {
            throw PyreError(.provider, "`ip \(options.joined(separator: " ")) -batch` failed (\(status)): "
                + "\(output.trimmingCharacters(in: .whitespacesAndNewlines)); Pyre needs root and iproute2 for namespace isolation")
        }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func ip(_ arguments: [String]) throws { _ = try run(arguments) }

    /// Runs `ip` and returns its output; throws with that output when it fails.
    /// The interfaces with an address in the subnet. A dump that another system's change
    /// interrupted ("Dump was interrupted and may be inconsistent.") is read again.
    private func interfacesUsingSubnet() throws -> [String] {
        var output = ""
        for _ in 0..<5 {
            output = try run(["-o", "addr", "show", "to", subnet.description])
            if !output.contains("Dump was interrupted") { break }
        }
        // `7: pyre-hello    inet 10.213.5.1/24 …`: the name follows the index.
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 1, fields[0].hasSuffix(":"), Int(fields[0].dropLast()) != nil else { return nil }
            return String(fields[1])
        }
    }

    private func run(_ arguments: [String]) throws -> String {
        let (status, output) = try ProcessSpawner.run([ip] + arguments)
        logger.trace("ip \(arguments.joined(separator: " ")) -> \(status)")
        guard status == 0 else {
            throw PyreError(.provider, "`ip \(arguments.joined(separator: " "))` failed (\(status)): "
                + "\(output.trimmingCharacters(in: .whitespacesAndNewlines)); Pyre needs root and iproute2 for namespace isolation")
        }
        return output
    }
}

/// What a namespace-mode server sees of the filesystem.
enum SandboxView {
    /// The host's filesystem read-only around the image, without `hidden` (the image
    /// excepted); `user` is resolved on the host (nil: nobody).
    case hostOS(image: URL, user: String?, hidden: [String])
    /// The image as the root, nothing of the host's; `user` as the image's accounts say.
    case imageRoot(ImageRoot, user: ImageAccounts.Identity)
}

