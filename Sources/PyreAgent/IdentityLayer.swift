import Foundation
import Logging
import NIOCore
import PyreCore
import PyreDNS
import PyreEntrypoints
import Synchronization

/// The identity layer of one system: its authoritative DNS server and its entry points,
/// kept in step with the servers the rollout publishes. Each change builds a complete new
/// zone snapshot and swaps it in.
actor IdentityLayer: ServerPublisher {
    private var spec: SystemSpec
    let systemAddress: String
    /// As asked for until ``start()`` binds it (0 asks for a free port).
    private let dnsPort: Mutex<Int>
    private let listServers: @Sendable () async throws -> [ServerInfo]
    private let logger: Logger
    private let dns: DNSServer
    private var proxies: [String: (spec: EntrypointSpec, proxy: EntrypointProxy)] = [:]
    private var published: [ServerID: ServerInfo] = [:]
    private var servers: [ServerInfo] = []
    private var deployment = 0
    private var serial: UInt32

    /// Builds the first zone; nothing listens until ``start()``.
    init(spec: SystemSpec, systemAddress: String, dnsPort: Int,
         listServers: @escaping @Sendable () async throws -> [ServerInfo], logger: Logger) throws {
        self.spec = spec
        self.systemAddress = systemAddress
        self.dnsPort = Mutex(dnsPort)
        self.listServers = listServers
        self.logger = logger
        serial = Self.nextSerial(after: 0)
        let first = SystemZone(zone: spec.zone, ttl: Self.seconds(spec.dns.ttl), systemAddress: systemAddress, servers: [],
                               published: [], deployment: 0, staticRecords: spec.dns.records)
        dns = DNSServer(zone: try first.snapshot(serial: serial), logger: logger)
    }

    /// `HOST:PORT` where servers and the host reach the DNS server.
    nonisolated var dnsAddress: String { "\(systemAddress):\(dnsPort.withLock { $0 })" }

    /// Where the host asks the DNS server besides the system address (`dns.listen` as the
    /// agent started); nil for nowhere.
    private(set) var hostDNSAddress: String?

    /// The entry points open now, by name.
    var openEntrypoints: [EntrypointSpec] { proxies.values.map(\.spec).sorted { $0.name < $1.name } }

    /// Queries the DNS server answered since the agent started, for the metrics.
    nonisolated var dnsQueries: DNSQueryCounts { dns.counts }

    /// What each open entry point relayed since it was opened, by name.
    var entrypointStatistics: [(name: String, statistics: EntrypointStatistics)] {
        proxies.map { ($0.key, $0.value.proxy.statistics) }.sorted { $0.name < $1.name }
    }

    /// Serves DNS on the system address (and `dns.listen`) and opens the entry points, with
    /// no server published yet: recovery publishes those the previous agent left serving.
    func start() async throws {
        do {
            // Servers have no other nameserver: relay what is outside the zone to the host's.
            let bound = try await dns.start(host: systemAddress, port: dnsPort.withLock { $0 },
                                            forwardingOutsideZoneTo: Self.upstreamResolvers())
            dnsPort.withLock { $0 = bound }
        } catch {
            throw PyreError(.agent, "cannot serve DNS on the system address \(dnsAddress): \(BindFailure.reason(error)); "
                + "stop what holds the port, or give the system another address with pyre up --subnet")
        }
        if let listen = spec.dns.listen {
            let (host, port) = try Self.split(listen)
            do {
                _ = try await dns.start(host: host, port: port)
                hostDNSAddress = listen
            } catch {
                throw BindFailure.error(listening: listen, for: "DNS", field: "dns.listen", error, in: spec)
            }
        }
        try await openEntrypoints(spec.entrypoints)
        await refresh()
    }

    /// Takes up a changed manifest: TTL, static records and entry points.
    func configure(_ newSpec: SystemSpec) async throws {
        let removed = proxies.filter { _, entry in !newSpec.entrypoints.contains(entry.spec) }
        for (name, entry) in removed {
            await entry.proxy.stop()
            proxies[name] = nil
        }
        spec = newSpec
        try await openEntrypoints(newSpec.entrypoints.filter { proxies[$0.name] == nil })
        await refresh()
    }

    func stop() async {
        for entry in proxies.values { await entry.proxy.stop() }
        proxies = [:]
        await dns.stop()
    }

    func setDeployment(_ number: Int) async {
        deployment = number
        await refresh()
    }

    /// The current zone in master-file form (`pyre dns`).
    func zoneText() -> String { dns.zone.zoneFileText() }

    // MARK: ServerPublisher

    func update(publishing servers: [ServerInfo], unpublishing leaving: [ServerID]) async {
        var services = Set(servers.map(\.service))
        for server in servers { published[server.id] = server }
        for id in leaving {
            if let server = published.removeValue(forKey: id) { services.insert(server.service) }
        }
        for service in services { updateBackends(of: service) }
        await refresh()
    }

    /// A client may hold an address it resolved for one TTL and then still send a request,
    /// so a retired server stays up for the TTL plus its drain `period` after leaving the
    /// zone; its entry-point connections get as long to finish and are closed after that.
    func drain(_ ids: [ServerID], within period: Duration) async {
        let hold = spec.dns.ttl + period
        let proxies = proxies.values.map(\.proxy)
        async let dnsHold: Void? = try? Task.sleep(for: hold)
        await withTaskGroup(of: Void.self) { group in
            for proxy in proxies {
                for id in ids { group.addTask { _ = await proxy.drain(id.rawValue, timeout: hold) } }
            }
        }
        _ = await dnsHold
    }

    /// Rebuilds the zone from what the provider runs now; called on every change and by
    /// the agent's periodic tick, so new servers get their own name before they are published.
    func refresh() async {
        if let current = try? await listServers() { servers = current }
        let zone = SystemZone(zone: spec.zone, ttl: Self.seconds(spec.dns.ttl), systemAddress: systemAddress,
                              servers: servers, published: Set(published.keys), deployment: deployment,
                              staticRecords: spec.dns.records)
        let records = zone.records()
        guard records != lastRecords else { return }
        serial = Self.nextSerial(after: serial)
        do {
            dns.update(try zone.snapshot(serial: serial))
            lastRecords = records
        } catch {
            logger.error("the zone of \(spec.zone) was not updated: \(error)")
        }
    }

    private var lastRecords: [DNSRecord] = []

    private func openEntrypoints(_ entrypoints: [EntrypointSpec]) async throws {
        for entrypoint in entrypoints {
            let proxy = EntrypointProxy(name: entrypoint.name, balance: BalanceStrategy(rawValue: entrypoint.balance.rawValue)!,
                                        connectTimeout: entrypoint.connectTimeout,
                                        retryUnanswered: entrypoint.retryUnanswered, logger: logger)
            let (host, port) = try Self.split(entrypoint.listen)
            do {
                _ = try await proxy.start(host: host, port: port)
            } catch {
                throw BindFailure.error(listening: entrypoint.listen, for: "entrypoint \(entrypoint.name)",
                                        field: "entrypoints.\(entrypoint.name).listen", error, in: spec)
            }
            proxies[entrypoint.name] = (entrypoint, proxy)
            updateBackends(of: entrypoint.service)
        }
    }

    private func updateBackends(of service: String) {
        let backends = published.values.filter { $0.service == service }.sorted { $0.id < $1.id }
            .map { EntrypointBackend(id: $0.id.rawValue, host: $0.address, port: $0.port) }
        for entry in proxies.values where entry.spec.service == service { entry.proxy.setBackends(backends) }
    }

    /// The host's resolvers from /etc/resolv.conf, or `PYRE_DNS_UPSTREAM` (`HOST[:PORT],…`;
    /// `none` refuses names outside the zone, as tests do to keep their traffic on loopback).
    static func upstreamResolvers(environment: [String: String] = ProcessInfo.processInfo.environment,
                                  resolvConf: String = "/etc/resolv.conf") -> [SocketAddress] {
        let entries: [String]
        if let configured = environment["PYRE_DNS_UPSTREAM"] {
            entries = configured == "none" ? [] : configured.split(separator: ",").map(String.init)
        } else {
            let text = (try? String(contentsOfFile: resolvConf, encoding: .utf8)) ?? ""
            entries = text.split(separator: "\n").compactMap { line in
                let fields = line.split(whereSeparator: \.isWhitespace)
                return fields.count >= 2 && fields[0] == "nameserver" ? String(fields[1]) : nil
            }
        }
        return entries.compactMap { entry in
            var host = entry, port = 53
            if let colon = entry.lastIndex(of: ":"), entry.filter({ $0 == ":" }).count == 1, let parsed = Int(entry[entry.index(after: colon)...]) {
                host = String(entry[..<colon])
                port = parsed
            }
            return try? SocketAddress(ipAddress: host, port: port)
        }
    }

    /// Serials grow by one per change, and never fall behind the clock: a restarted agent
    /// (which starts from the clock) still publishes a higher serial than before.
    private static func nextSerial(after serial: UInt32) -> UInt32 {
        max(serial &+ 1, UInt32(clamping: Int(Date().timeIntervalSince1970)))
    }

    private static func seconds(_ duration: Duration) -> UInt32 { UInt32(clamping: duration.components.seconds) }

    /// `HOST:PORT` (IPv6 in brackets) as validated by the manifest.
    static func split(_ listen: String) throws -> (host: String, port: Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw PyreError(.agent, "listen address \(listen) is not HOST:PORT")
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return (host, port)
    }
}
