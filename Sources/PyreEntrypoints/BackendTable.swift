import Synchronization

/// The published backends, which client connection goes to which backend, and who waits for a
/// backend to go idle. Every event loop shares it, so all state sits behind one mutex; a connection
/// touches it a few times in its life, never per read.
final class BackendTable: Sendable {
    /// A published backend with its address parsed once, so connects skip name resolution.
    struct Target: Sendable {
        let backend: EntrypointBackend
        /// Nil when `host` is not an IP literal: a connect to it fails, and the next backend is tried.
        let address: TCPAddress?

        init(_ backend: EntrypointBackend) {
            self.backend = backend
            self.address = try? TCPAddress(host: backend.host, port: backend.port, numericOnly: true)
        }
    }

    enum Assignment {
        case target(Target)
        /// Every published backend was tried, or none is published.
        case exhausted
        /// The client connection closed meanwhile; nothing to do.
        case closed
    }

    private struct State {
        var published: [Target] = []
        /// Where the next round-robin scan starts.
        var cursor = 0
        /// Every tracked client connection and its backend id, nil while it has none.
        var connections: [ObjectIdentifier: (connection: RelayedConnection, backend: String?)] = [:]
        /// Backend id → the client connections it carries (including one being connected).
        var open: [String: Set<ObjectIdentifier>] = [:]
        var idleWaiters: [String: [Int: CheckedContinuation<Void, Never>]] = [:]
        var nextWaiterID = 0

        /// Picks among published backends not in `tried`, starting at the cursor so ties rotate.
        mutating func pick(excluding tried: Set<String>, strategy: BalanceStrategy) -> Target? {
            let count = published.count
            var chosen: Int?
            var fewest = Int.max
            for step in 0..<count {
                let index = (cursor + step) % count
                let id = published[index].backend.id
                if tried.contains(id) { continue }
                if strategy == .roundRobin {
                    chosen = index
                    break
                }
                let connections = open[id]?.count ?? 0
                if connections < fewest {  // strict: the first minimum after the cursor wins a tie
                    fewest = connections
                    chosen = index
                }
            }
            guard let chosen else { return nil }
            cursor = (chosen + 1) % count
            return published[chosen]
        }

        /// Removes `key` from the backend it was on; returns the idle waiters to resume if that emptied it.
        mutating func detach(_ key: ObjectIdentifier) -> [CheckedContinuation<Void, Never>] {
            guard let id = connections[key]?.backend else { return [] }
            connections[key]?.backend = nil
            open[id]?.remove(key)
            guard open[id]?.isEmpty ?? true else { return [] }
            open[id] = nil
            return idleWaiters.removeValue(forKey: id).map { Array($0.values) } ?? []
        }
    }

    private let strategy: BalanceStrategy
    private let state = Mutex(State())

    init(strategy: BalanceStrategy) {
        self.strategy = strategy
    }

    func publish(_ backends: [EntrypointBackend]) {
        let targets = backends.map(Target.init)
        state.withLock { $0.published = targets }
    }

    func track(_ connection: RelayedConnection) {
        state.withLock { $0.connections[ObjectIdentifier(connection)] = (connection, nil) }
    }

    /// Moves a tracked connection to a fresh backend (counted from now on, so concurrent picks see it).
    func assign(_ connection: RelayedConnection, excluding tried: Set<String>) -> Assignment {
        let key = ObjectIdentifier(connection)
        let (assignment, idle) = state.withLock { state -> (Assignment, [CheckedContinuation<Void, Never>]) in
            guard state.connections[key] != nil else { return (.closed, []) }
            let idle = state.detach(key)
            guard let target = state.pick(excluding: tried, strategy: strategy) else { return (.exhausted, idle) }
            state.connections[key]?.backend = target.backend.id
            state.open[target.backend.id, default: []].insert(key)
            return (.target(target), idle)
        }
        idle.forEach { $0.resume() }
        return assignment
    }

    /// Stops tracking a closed connection.
    func forget(_ connection: RelayedConnection) {
        let key = ObjectIdentifier(connection)
        let idle = state.withLock { state in
            let idle = state.detach(key)
            state.connections[key] = nil
            return idle
        }
        idle.forEach { $0.resume() }
    }

    func count(of id: String) -> Int {
        state.withLock { $0.open[id]?.count ?? 0 }
    }

    func connections(of id: String) -> [RelayedConnection] {
        state.withLock { state in (state.open[id] ?? []).compactMap { state.connections[$0]?.connection } }
    }

    func allConnections() -> [RelayedConnection] {
        state.withLock { $0.connections.values.map(\.connection) }
    }

    /// Returns once no connection to `id` is open, or when the calling task is cancelled.
    func waitUntilIdle(_ id: String) async {
        let waiter = state.withLock { state -> Int? in
            guard state.open[id] != nil else { return nil }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let waiter else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Checked under the lock, so a cancel racing with this store is seen by one side or the other.
                let resumeNow = state.withLock { state in
                    if state.open[id] == nil || Task.isCancelled { return true }
                    state.idleWaiters[id, default: [:]][waiter] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.idleWaiters[id]?.removeValue(forKey: waiter) }?.resume()
        }
    }
}
