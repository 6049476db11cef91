import Foundation
import PyreCore

/// A provider that keeps servers in memory: for tests of the logic above providers, with
/// hooks to inject the failures real servers have.
public final class InMemoryProvider: ServerProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var servers: [ServerID: ServerInfo] = [:]
    private var output: [ServerID: [String]] = [:]
    private var nextAddress = 2
    private var _created: [ServerID] = []
    private var _destroyed: [ServerID] = []
    private var _failCreate: (@Sendable (ServerSpec) -> Bool)?
    private var _failDestroy: (@Sendable (ServerID) -> Bool)?
    private var _createBatches: [Int] = []
    private var _destroyBatches: [[ServerID]] = []
    private let namePrefix: String?
    private var nextName = 1

    /// - Parameter namePrefix: when set, the provider creates in batches and names each server
    ///   itself, `PREFIX-N`, ignoring the spec's id (as EC2 names instances).
    public init(namingServers namePrefix: String? = nil) {
        self.namePrefix = namePrefix
    }

    public var createsInBatches: Bool { namePrefix != nil }

    /// When this returns true for a spec, `create` throws instead of creating the server.
    public var failCreate: (@Sendable (ServerSpec) -> Bool)? {
        get { lock.withLock { _failCreate } }
        set { lock.withLock { _failCreate = newValue } }
    }

    /// When this returns true for an id, `destroy` throws and leaves the server running.
    public var failDestroy: (@Sendable (ServerID) -> Bool)? {
        get { lock.withLock { _failDestroy } }
        set { lock.withLock { _failDestroy = newValue } }
    }

    /// The size of each `create(batch:)` call, in order.
    public var createBatches: [Int] { lock.withLock { _createBatches } }
    /// The ids of each `destroy(batch:)` call, in order.
    public var destroyBatches: [[ServerID]] { lock.withLock { _destroyBatches } }

    /// Ids of every server ever created, in order.
    public var created: [ServerID] { lock.withLock { _created } }
    /// Ids of every server destroyed, in order.
    public var destroyed: [ServerID] { lock.withLock { _destroyed } }

    /// Simulates the server's main process ending with `status`.
    public func kill(_ id: ServerID, status: Int32 = 137) {
        lock.withLock { servers[id]?.state = .exited(status: status) }
    }

    /// Lines the server "wrote", returned by `recentOutput`.
    public func setOutput(_ lines: [String], of id: ServerID) {
        lock.withLock { output[id] = lines }
    }

    /// Adds a server as if it had been created by an earlier agent (for recovery tests).
    public func adopt(_ info: ServerInfo) {
        lock.withLock { servers[info.id] = info }
    }

    public func create(_ spec: ServerSpec) async throws -> ServerInfo {
        try lock.withLock { try createLocked(spec) }
    }

    public func create(batch specs: [ServerSpec]) async -> [Result<ServerInfo, any Error>] {
        lock.withLock {
            _createBatches.append(specs.count)
            return specs.map { spec in Result { try createLocked(spec) } }
        }
    }

    private func createLocked(_ spec: ServerSpec) throws -> ServerInfo {
        if let failCreate = _failCreate, failCreate(spec) {
            throw PyreError(.provider, "injected create failure for \(spec.id)")
        }
        var id = spec.id
        if let namePrefix {
            id = ServerID("\(namePrefix)-\(nextName)")
            nextName += 1
        }
        guard servers[id] == nil else {
            throw PyreError(.provider, "server \(id) exists already; ids are never reused")
        }
        let address = "127.0.\(nextAddress / 256).\(nextAddress % 256)"
        nextAddress += 1
        let info = ServerInfo(id: id, service: spec.service, generation: spec.generation, image: spec.image,
                              configHash: spec.configHash, address: address, port: spec.port,
                              createdAt: Date(), state: .running, imageView: spec.imageLocation.directory)
        servers[id] = info
        _created.append(id)
        return info
    }

    public func inspect(_ id: ServerID) async throws -> ServerInfo? {
        lock.withLock { servers[id] }
    }

    public func list() async throws -> [ServerInfo] {
        lock.withLock { servers.values.sorted { $0.id < $1.id } }
    }

    public func destroy(_ id: ServerID) async throws {
        try lock.withLock { try destroyLocked(id) }
    }

    public func destroy(batch ids: [ServerID]) async -> [ServerID: String] {
        lock.withLock {
            _destroyBatches.append(ids)
            var failures: [ServerID: String] = [:]
            for id in ids {
                do { try destroyLocked(id) } catch { failures[id] = "\(error)" }
            }
            return failures
        }
    }

    private func destroyLocked(_ id: ServerID) throws {
        if let failDestroy = _failDestroy, failDestroy(id) {
            throw PyreError(.provider, "injected destroy failure for \(id)")
        }
        if servers.removeValue(forKey: id) != nil { _destroyed.append(id) }
        output[id] = nil
    }

    public func recentOutput(of id: ServerID, lines: Int) async -> [String] {
        lock.withLock { Array((output[id] ?? []).suffix(lines)) }
    }
}
