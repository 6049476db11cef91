import Foundation
import Logging
import PyreCore
import PyrePOSIX
import Synchronization

/// Ports of the agent's services on the system address that servers may reach (DNS, the
/// events API, syslog); every other port of the host is closed to them.
public struct SystemServicePorts: Sendable, Equatable {
    public var tcp: [Int]
    public var udp: [Int]

    public init(tcp: [Int] = [], udp: [Int] = []) {
        self.tcp = tcp
        self.udp = udp
    }
}

/// One server as the anti-spoofing rules know it: the host end of its veth pair, the MAC
/// of its `eth0` and its address.
struct FirewallPort: Equatable, Sendable {
    let interface: String
    let mac: String
    let address: String

    var element: String { "\"\(interface)\" . \(mac) . \(address)" }
}

/// The nftables tables of one system, both named `pyre-<system>` so several systems coexist:
///
/// - `bridge`: a frame entering the bridge from a server's port must carry that server's MAC
///   and, for IPv4 and ARP, its address (the ARP sender fields too); anything else (another
///   address, another MAC, IPv6, VLANs) is dropped. Ports of other bridges are not matched.
/// - `inet`: from the bridge, the host answers only ``SystemServicePorts`` on the bridge
///   address, and replies to connections the host opened (health checks); every other port
///   is rejected. Nothing is forwarded between the bridge and other interfaces. Whatever
///   reaches the host on a server's port itself, not through the bridge, is dropped: the
///   bridge hands link-local group frames (LLDP's 01:80:c2:00:00:0e) to the port's own
///   stack without passing them through the `bridge` table, whatever they carry.
struct NamespaceFirewall {
    private let forgetting = PortsToForget()
    let table: String
    let bridge: String
    let bridgeAddress: String
    let nft: String
    let logger: Logger

    init(system: String, bridge: String, bridgeAddress: String, logger: Logger) throws {
        guard let nft = ExecutableLookup.find("nft") else {
            throw PyreError(.provider, "namespace isolation needs nftables' `nft` to keep servers apart; "
                + "install nftables or use --isolation process")
        }
        table = "pyre-\(system)"
        self.bridge = bridge
        self.bridgeAddress = bridgeAddress
        self.nft = nft
        self.logger = logger
    }

    /// Replaces both tables in one transaction, with `ports` (the servers that exist now)
    /// allowed; a table left by an earlier agent is replaced whole.
    func install(services: SystemServicePorts, ports: [FirewallPort]) throws {
        let elements = { (values: [String]) in values.isEmpty ? "" : "elements = { \(values.joined(separator: ", ")) }" }
        let accept = { (proto: String, list: [Int]) in
            list.isEmpty ? "" : "ip daddr \(bridgeAddress) \(proto) dport { \(Set(list).sorted().map(String.init).joined(separator: ", ")) } accept"
        }
        try run(script: """
            table bridge \(table)
            delete table bridge \(table)
            table bridge \(table) {
                set ports { type ifname; \(elements(ports.map { "\"\($0.interface)\"" })) }
                set servers { type ifname . ether_addr . ipv4_addr; \(elements(ports.map(\.element))) }
                chain prerouting {
                    type filter hook prerouting priority 0; policy accept;
                    iifname != @ports accept
                    iifname . ether saddr . arp saddr ip @servers iifname . arp saddr ether . arp saddr ip @servers accept
                    iifname . ether saddr . ip saddr @servers accept
                    drop
                }
            }
            table inet \(table)
            delete table inet \(table)
            table inet \(table) {
                chain input {
                    type filter hook input priority 0; policy accept;
                    iifname "\(NamespaceNetwork.hostInterfacePrefix)*" drop
                    iifname != "\(bridge)" accept
                    ct state established,related accept
                    \(accept("udp", services.udp))
                    \(accept("tcp", services.tcp))
                    meta l4proto tcp reject with tcp reset
                    reject
                }
                chain forward {
                    type filter hook forward priority 0; policy accept;
                    iifname "\(NamespaceNetwork.hostInterfacePrefix)*" drop
                    iifname "\(bridge)" oifname != "\(bridge)" drop
                    oifname "\(bridge)" iifname != "\(bridge)" drop
                }
            }
            """)
    }

    /// Removes both tables; missing ones are fine.
    func remove() throws {
        try run(script: """
            table bridge \(table)
            delete table bridge \(table)
            table inet \(table)
            delete table inet \(table)
            """)
    }

    /// Lets a new server's port send as itself; must succeed before the server runs.
    func allow(_ port: FirewallPort) throws {
        try run(script: """
            add element bridge \(table) ports { "\(port.interface)" }
            add element bridge \(table) servers { \(port.element) }
            """)
    }

    /// Forgets a destroyed server's port; one that is not there is fine. Every nftables
    /// transaction that deletes set elements waits for an RCU grace period (about 20 ms here,
    /// under one lock), and servers are destroyed in batches: the ports forgotten while a
    /// transaction runs go together in the next one, which the first of them runs. Until then
    /// a destroyed port's element only names an interface that no longer exists.
    func forget(_ port: FirewallPort) {
        guard forgetting.add(port) else { return }
        while let ports = forgetting.next() {
            let deletions = ports.map(deletions(of:))
            if (try? run(script: deletions.flatMap { $0 }.joined(separator: "\n"))) != nil { continue }
            // One of them was not there, which fails the whole transaction: one at a time.
            for command in deletions.joined() { _ = try? run(script: command) }
        }
    }

    private func deletions(of port: FirewallPort) -> [String] {
        ["delete element bridge \(table) servers { \(port.element) }",
         "delete element bridge \(table) ports { \"\(port.interface)\" }"]
    }

    private func run(script: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-nft-\(UUID().uuidString)")
        try (script + "\n").write(to: file, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, output) = try ProcessSpawner.run([nft, "-f", file.path])
        logger.trace("nft -f: \(script) -> \(status)")
        guard status == 0 else {
            throw PyreError(.provider, "`nft -f` failed (\(status)): \(output.trimmingCharacters(in: .whitespacesAndNewlines)); "
                + "Pyre needs root and nftables (kernel nf_tables with bridge support) for namespace isolation")
        }
    }
}

/// Ports waiting for the transaction that deletes them, and whether one is running.
private final class PortsToForget: Sendable {
    private struct State {
        var ports: [FirewallPort] = []
        var running = false
    }

    private let state = Mutex(State())

    /// Queues `port`; true when the caller must run the transactions (none is running).
    func add(_ port: FirewallPort) -> Bool {
        state.withLock { state in
            state.ports.append(port)
            defer { state.running = true }
            return !state.running
        }
    }

    /// The ports queued since the last call, or nil (and no transaction running) when none are.
    func next() -> [FirewallPort]? {
        state.withLock { state in
            guard !state.ports.isEmpty else {
                state.running = false
                return nil
            }
            defer { state.ports = [] }
            return state.ports
        }
    }
}
