import Foundation
import Logging
import PyreCore
import PyreDeploy
import PyreTesting
import Synchronization

/// Collects what a deploy reports.
final class ProgressLog: Sendable {
    private let entries = Mutex<[DeployProgress]>([])
    var all: [DeployProgress] { entries.withLock { $0 } }
    func append(_ progress: DeployProgress) { entries.withLock { $0.append(progress) } }
}

/// True the first `count` times it is asked, false afterwards.
final class Countdown: Sendable {
    private let left: Mutex<Int>
    init(_ count: Int) { left = Mutex(count) }
    func next() -> Bool { left.withLock { $0 -= 1; return $0 >= 0 } }
}

/// Tracks which servers are published, the fewest published per service after a first one,
/// and every change.
final class RecordingPublisher: ServerPublisher {
    struct Change: Equatable {
        var publishing: Set<ServerID>
        var unpublishing: Set<ServerID>
    }

    private struct Books {
        var published: [ServerID: String] = [:]
        var fewest: [String: Int] = [:]
        var changes: [Change] = []
    }

    private let books = Mutex(Books())

    func update(publishing servers: [ServerInfo], unpublishing leaving: [ServerID]) async {
        books.withLock { books in
            books.changes.append(Change(publishing: Set(servers.map(\.id)), unpublishing: Set(leaving)))
            for server in servers { books.published[server.id] = server.service }
            for id in leaving {
                guard let service = books.published.removeValue(forKey: id) else { continue }
                let count = books.published.values.filter { $0 == service }.count
                books.fewest[service] = min(books.fewest[service] ?? .max, count)
            }
        }
    }

    var published: Set<ServerID> { books.withLock { Set($0.published.keys) } }
    /// Every `update` call, in order.
    var changes: [Change] { books.withLock { $0.changes } }
    /// Fewest servers of `service` published right after any unpublish.
    func fewestPublished(_ service: String) -> Int? { books.withLock { $0.fewest[service] } }
}

/// A reconciler on an in-memory provider with fake health checks and journal.
struct Harness {
    let provider: InMemoryProvider
    let journal: FakeEventJournal
    let health: FakeHealthChecker
    let publisher = RecordingPublisher()
    let reconciler: Reconciler
    let progress = ProgressLog()

    init(events: [AgentEvent] = [], configuration: ReconcilerConfiguration = ReconcilerConfiguration(system: "test"),
         provider: InMemoryProvider = InMemoryProvider(),
         health makeHealth: ((InMemoryProvider) -> any HealthChecker)? = nil) {
        self.provider = provider
        journal = FakeEventJournal(events: events)
        health = FakeHealthChecker(provider: provider)
        reconciler = Reconciler(configuration: configuration, provider: provider, journal: journal,
                                health: makeHealth?(provider) ?? health, publisher: publisher,
                                state: AgentState(replaying: events), logger: Logger(label: "test"))
    }

    @discardableResult
    func deploy(_ services: [DesiredService], trigger: DeployTrigger = .manual) async throws -> DeploymentRecord {
        let progress = self.progress
        return try await reconciler.deploy(services, trigger: trigger) { progress.append($0) }
    }

    var running: [ServerInfo] {
        get async throws { try await provider.list() }
    }

    /// The journal folds to the state the reconciler holds.
    func foldMatches() async -> Bool {
        await AgentState(replaying: journal.events) == reconciler.state
    }

    func events(_ type: String) -> [AgentEvent] { journal.events.filter { $0.typeName == type } }
}
