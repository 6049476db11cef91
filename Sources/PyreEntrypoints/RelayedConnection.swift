import CPyreEpoll
import Glibc
import Logging
import NIOCore

/// What the connections of one entry point share.
struct RelayContext: Sendable {
    let table: BackendTable
    let connectTimeout: Duration
    let retryUnanswered: Bool
    let logger: Logger
    let counters = EntrypointCounters()
}

/// One client connection: connected to a backend (trying the others when a connect fails), then
/// relayed both ways until both directions have ended, or one side fails.
///
/// A backend that resets the connection before sending a byte back (nothing relayed, nothing
/// waiting to be read, no FIN) is tried again like a failed connect, unless the entry point
/// says not to: the kernel resets a connection it closes with received bytes unread, so the
/// server never read all the client sent (typically a connection still queued on a listening
/// socket that closed as its server went down). What the client sent is kept until the first
/// byte comes back and sent to the next backend. A server that read the request and then
/// closed sends a FIN, not a reset, and that is passed on: it may have acted on the request.
///
/// Lives on the loop that accepted it, and only that loop's thread touches its state; the
/// backend table holds it so that drains and stops can ask the loop to reset it.
final class RelayedConnection: @unchecked Sendable {
    private enum Phase {
        /// Nothing the client sent is read before a backend is connected, so a failed connect loses
        /// nothing; the client's socket is watched only for a reset meanwhile.
        /// `replay`: what the client sent a backend that reset the connection, sent again first.
        case connecting(backend: EntrypointBackend, tried: Set<String>, replay: [UInt8])
        case relaying(toServer: RelayDirection, toClient: RelayDirection, backend: EntrypointBackend, tried: Set<String>)
        case closed
    }

    /// One of the two sockets and what epoll reports for it.
    private struct Socket {
        var descriptor: Int32
        /// Nil while it is not watched.
        var events: UInt32?
        /// Both its directions are shut (EPOLLHUP): epoll reports that whatever is asked, so it is
        /// watched again only when something is wanted from it.
        var hungUp = false
    }

    let loop: RelayLoop
    private let context: RelayContext
    private var client: Socket
    private var server = Socket(descriptor: -1)
    private var phase: Phase = .closed

    private static let input = EPOLLIN.rawValue
    private static let output = EPOLLOUT.rawValue
    private static let hangUp = EPOLLHUP.rawValue
    private static let error = EPOLLERR.rawValue

    init(client: Int32, loop: RelayLoop, context: RelayContext) {
        self.client = Socket(descriptor: client)
        self.loop = loop
        self.context = context
    }

    func start() {
        context.counters.connectionAccepted()
        context.table.track(self)
        watch(&client, wanting: 0)
        dial(tried: [], replay: [])
    }

    /// Resets the client connection (it gets a RST) and closes the backend one.
    func reset() {
        guard !isClosed else { return }
        if case .relaying(let toServer, let toClient, _, _) = phase { count(toServer, toClient) }
        close(&client, resetting: true)
        closeServer()
        finish()
    }

    private var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    // MARK: connecting

    private func dial(tried: Set<String>, replay: [UInt8]) {
        switch context.table.assign(self, excluding: tried) {
        case .closed:
            return  // only after finish(), which closed the sockets
        case .exhausted:
            context.logger.warning(
                tried.isEmpty ? "no published backend; connection refused" : "no backend accepted; connection refused",
                metadata: ["tried": "\(tried.sorted())"])
            refuse()
        case .target(let target):
            let backend = target.backend
            phase = .connecting(backend: backend, tried: tried, replay: replay)
            do {
                guard let address = target.address else { throw NotAnAddress(host: backend.host) }
                server = Socket(descriptor: try TCPSocket.connect(to: address))
                watch(&server, wanting: Self.output)
                loop.startTimer(for: self, deadline: .now + context.connectTimeout) { [unowned self] in connectTimedOut() }
            } catch let error as IOError where error.errnoCode == EMFILE || error.errnoCode == ENFILE {
                // Another backend would fail the same way.
                context.logger.error("out of file descriptors; connection refused")
                refuse()
            } catch {
                connectFailed(backend, tried: tried, replay: replay, error: "\(error)")
            }
        }
    }

    private func connectTimedOut() {
        guard case .connecting(let backend, let tried, let replay) = phase else { return }
        closeServer()
        connectFailed(backend, tried: tried, replay: replay, error: "connect timed out after \(context.connectTimeout)")
    }

    private func connectFailed(_ backend: EntrypointBackend, tried: Set<String>, replay: [UInt8], error: String,
                               what: String = "connect to backend failed") {
        context.counters.backendFailed()
        context.logger.warning("\(what); trying another",
                               metadata: ["backend": "\(backend.id)", "address": "\(backend.host):\(backend.port)",
                                          "error": "\(error)"])
        dial(tried: tried.union([backend.id]), replay: replay)
    }

    private func refuse() {
        context.counters.connectionRefused()
        close(&client, resetting: true)
        finish()
    }

    // MARK: readiness

    func handle(_ descriptor: Int32, events: UInt32) {
        switch phase {
        case .closed:
            return
        case .connecting(let backend, let tried, let replay):
            if descriptor == client.descriptor {
                // The client gave up (reset) while its backend was being connected.
                closeServer()
                close(&client)
                finish()
                return
            }
            let code = TCPSocket.pendingError(of: server.descriptor)
            guard code == 0 else {
                closeServer()
                connectFailed(backend, tried: tried, replay: replay, error: String(cString: strerror(code)))
                return
            }
            loop.cancelTimer(for: self)
            phase = .relaying(
                toServer: RelayDirection(from: client.descriptor, to: server.descriptor, holding: true, pending: replay),
                toClient: RelayDirection(from: server.descriptor, to: client.descriptor), backend: backend, tried: tried)
            updateEvents()
        case .relaying(var toServer, var toClient, let backend, let tried):
            let fromClient = descriptor == client.descriptor
            let failure = events & Self.error != 0
                ? RelayFailure(code: TCPSocket.pendingError(of: descriptor), descriptor: descriptor)
                : fromClient ? serve(events, reading: &toServer, writing: &toClient)
                : serve(events, reading: &toClient, writing: &toServer)
            if toClient.relayedBytes > 0 { toServer.stopHolding() }
            if let failure {
                if context.retryUnanswered, failure.descriptor == server.descriptor, failure.code == ECONNRESET,
                   toClient.relayedBytes == 0, !toClient.sourceEnded, !TCPSocket.hasBytesToRead(server.descriptor),
                   let replay = toServer.heldBytes {
                    count(toServer, toClient)
                    closeServer()
                    watch(&client, wanting: 0)  // as while connecting: only a reset is seen
                    connectFailed(backend, tried: tried, replay: replay, error: String(cString: strerror(failure.code)),
                                  what: "backend reset the connection before answering")
                    return
                }
                // The response cannot be whole: a client given a plain FIN could take it for complete.
                let resetClient = !fromClient && !toClient.isFinished
                if failure.descriptor == server.descriptor { context.counters.backendFailed() }
                count(toServer, toClient)
                closeServer()
                close(&client, resetting: resetClient)
                finish()
                return
            }
            if toServer.isFinished && toClient.isFinished {
                count(toServer, toClient)
                closeServer()
                close(&client)
                finish()
                return
            }
            phase = .relaying(toServer: toServer, toClient: toClient, backend: backend, tried: tried)
            if events & Self.hangUp != 0 {
                if fromClient { client.hungUp = true } else { server.hungUp = true }
            }
            updateEvents()
        }
    }

    /// A socket is ready: the direction that writes to it takes what it kept, and the one that
    /// reads it relays. Returns the call that failed, which ends the connection.
    private func serve(_ events: UInt32, reading: inout RelayDirection, writing: inout RelayDirection) -> RelayFailure? {
        if events & (Self.output | Self.hangUp) != 0 && writing.wantsWrite, let failure = writing.flush(loop.calls) {
            return failure
        }
        if events & (Self.input | Self.hangUp) != 0 && reading.wantsRead {
            return reading.relay(loop.calls, scratch: loop.scratch)
        }
        return nil
    }

    /// Asks epoll for what the two directions want: a source's readability while nothing it sent
    /// waits, a destination's writability while something does.
    private func updateEvents() {
        guard case .relaying(let toServer, let toClient, _, _) = phase else { return }
        watch(&client, wanting: (toServer.wantsRead ? Self.input : 0) | (toClient.wantsWrite ? Self.output : 0))
        watch(&server, wanting: (toClient.wantsRead ? Self.input : 0) | (toServer.wantsWrite ? Self.output : 0))
    }

    private func watch(_ socket: inout Socket, wanting wanted: UInt32) {
        guard socket.events != wanted else { return }
        if socket.hungUp && wanted == 0 {
            if socket.events != nil { loop.unwatch(socket.descriptor) }
            socket.events = nil
        } else if socket.events == nil {
            loop.watch(socket.descriptor, events: wanted, for: self)
            socket.events = wanted
        } else {
            loop.change(socket.descriptor, events: wanted)
            socket.events = wanted
        }
    }

    // MARK: closing

    /// Adds what an attempt relayed; a replayed request counts once, as read from the client.
    private func count(_ toServer: RelayDirection, _ toClient: RelayDirection) {
        context.counters.relayed(fromClient: toServer.relayedBytes, fromBackend: toClient.relayedBytes)
    }

    /// Closing the backend socket ends its connect too.
    private func closeServer() {
        loop.cancelTimer(for: self)
        close(&server)
    }

    private func close(_ socket: inout Socket, resetting: Bool = false) {
        guard socket.descriptor >= 0 else { return }
        if socket.events != nil { loop.unwatch(socket.descriptor) }
        if resetting { TCPSocket.reset(socket.descriptor) } else { Glibc.close(socket.descriptor) }
        socket = Socket(descriptor: -1)
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
