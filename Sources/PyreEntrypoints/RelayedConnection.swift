import CPyreEpoll
import Glibc
import Logging

/// What the connections of one entry point share.
struct RelayContext: Sendable {
    let table: BackendTable
    let connectTimeout: Duration
    let logger: Logger
}

/// One client connection: connected to a backend (trying the others when a connect fails), then
/// relayed both ways until both directions have ended, or one side fails.
///
/// Lives on the loop that accepted it, and only that loop's thread touches its state; the
/// backend table holds it so that drains and stops can ask the loop to reset it.
final class RelayedConnection: @unchecked Sendable {
    private enum Phase {
        /// Nothing the client sent is read before a backend is connected, so a failed connect loses nothing.
        case connecting(backend: EntrypointBackend, tried: Set<String>)
        case relaying(toServer: RelayDirection, toClient: RelayDirection)
        case closed
    }

    let loop: RelayLoop
    private let context: RelayContext
    private let client: Int32
    private var server: Int32 = -1
    private var phase: Phase
    /// What epoll reports for each socket; nil while it is not watched.
    private var clientEvents: UInt32?
    private var serverEvents: UInt32?

    init(client: Int32, loop: RelayLoop, context: RelayContext) {
        self.client = client
        self.loop = loop
        self.context = context
        self.phase = .connecting(backend: EntrypointBackend(id: "", host: "", port: 0), tried: [])
    }

    func start() {
        context.table.track(self)
        dial(tried: [])
    }

    /// Resets the client connection (it gets a RST) and closes the backend one.
    func reset() {
        guard !isClosed else { return }
        unwatch(client, &clientEvents)
        TCPSocket.reset(client)
        closeServer()
        finish()
    }

    private var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    // MARK: connecting

    private func dial(tried: Set<String>) {
        switch context.table.assign(self, excluding: tried) {
        case .closed:
            return
        case .exhausted:
            context.logger.warning(
                tried.isEmpty ? "no published backend; connection refused" : "no backend accepted; connection refused",
                metadata: ["tried": "\(tried.sorted())"])
            TCPSocket.reset(client)
            finish()
        case .target(let target):
            let backend = target.backend
            phase = .connecting(backend: backend, tried: tried)
            do {
                guard let address = target.address else {
                    throw NotAnAddress(host: backend.host)
                }
                server = try TCPSocket.connect(to: address)
                watch(server, &serverEvents, wanting: EPOLLOUT.rawValue)
                loop.startTimer(for: self, deadline: .now + context.connectTimeout) { [unowned self] in connectTimedOut() }
            } catch {
                connectFailed(backend, tried: tried, error: "\(error)")
            }
        }
    }

    private func connectTimedOut() {
        guard case .connecting(let backend, let tried) = phase else { return }
        closeServer()
        connectFailed(backend, tried: tried, error: "connect timed out after \(context.connectTimeout)")
    }

    private func connectFailed(_ backend: EntrypointBackend, tried: Set<String>, error: String) {
        context.logger.warning("connect to backend failed; trying another",
                               metadata: ["backend": "\(backend.id)", "address": "\(backend.host):\(backend.port)",
                                          "error": "\(error)"])
        dial(tried: tried.union([backend.id]))
    }

    private func connected() {
        loop.cancelTimer(for: self)
        phase = .relaying(toServer: RelayDirection(from: client, to: server), toClient: RelayDirection(from: server, to: client))
        updateEvents()
    }

    // MARK: readiness

    func handle(_ descriptor: Int32, events: UInt32) {
        switch phase {
        case .closed:
            return
        case .connecting(let backend, let tried):
            guard descriptor == server else { return }
            let code = TCPSocket.pendingError(of: server)
            if code == 0 {
                connected()
            } else {
                loop.cancelTimer(for: self)
                closeServer()
                connectFailed(backend, tried: tried, error: String(cString: strerror(code)))
            }
        case .relaying(var toServer, var toClient):
            let failure = descriptor == client
                ? serve(events, reading: &toServer, writing: &toClient)
                : serve(events, reading: &toClient, writing: &toServer)
            if failure != nil || (toServer.isFinished && toClient.isFinished) {
                // A failed side ends both; after a clean close in both directions nothing is left to relay.
                closeServer()
                closeClient()
                finish()
                return
            }
            phase = .relaying(toServer: toServer, toClient: toClient)
            updateEvents()
            if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                // A hung-up socket is reported however little is asked of it: with nothing wanted, stop watching it.
                if descriptor == client && clientEvents == 0 { unwatch(client, &clientEvents) }
                if descriptor == server && serverEvents == 0 { unwatch(server, &serverEvents) }
            }
        }
    }

    /// A socket is ready: the direction that writes to it takes what it kept, and the one that reads it relays.
    private func serve(_ events: UInt32, reading: inout RelayDirection, writing: inout RelayDirection) -> Int32? {
        let problem = EPOLLHUP.rawValue | EPOLLERR.rawValue
        if events & (EPOLLOUT.rawValue | problem) != 0 && writing.wantsWrite, let failure = writing.flush(loop.calls) {
            return failure
        }
        if events & (EPOLLIN.rawValue | problem) != 0 && reading.wantsRead {
            return reading.relay(loop.calls, scratch: loop.scratch)
        }
        return nil
    }

    /// Asks epoll for what the two directions want: a source's readability while nothing it sent
    /// waits, a destination's writability while something does.
    private func updateEvents() {
        guard case .relaying(let toServer, let toClient) = phase else { return }
        let input = EPOLLIN.rawValue, output = EPOLLOUT.rawValue
        watch(client, &clientEvents, wanting: (toServer.wantsRead ? input : 0) | (toClient.wantsWrite ? output : 0))
        watch(server, &serverEvents, wanting: (toClient.wantsRead ? input : 0) | (toServer.wantsWrite ? output : 0))
    }

    private func watch(_ descriptor: Int32, _ current: inout UInt32?, wanting wanted: UInt32) {
        guard current != wanted else { return }
        if current == nil {
            loop.watch(descriptor, events: wanted, for: self)
        } else {
            loop.change(descriptor, events: wanted)
        }
        current = wanted
    }

    private func unwatch(_ descriptor: Int32, _ current: inout UInt32?) {
        guard current != nil else { return }
        loop.unwatch(descriptor)
        current = nil
    }

    // MARK: closing

    private func closeServer() {
        guard server >= 0 else { return }
        loop.cancelTimer(for: self)
        unwatch(server, &serverEvents)
        close(server)
        server = -1
    }

    private func closeClient() {
        unwatch(client, &clientEvents)
        close(client)
    }

    private func finish() {
        phase = .closed
        context.table.forget(self)
    }
}

private struct NotAnAddress: Error, CustomStringConvertible {
    var host: String
    var description: String { "\(host) is not an IP address (entry points connect to server addresses)" }
}
