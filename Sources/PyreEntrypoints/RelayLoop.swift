import CPyreEpoll
import Foundation
import Glibc
import Synchronization

/// A thread that relays entry point connections with epoll, level-triggered: one read and one
/// write per request in each direction, straight between the two sockets. It owns the sockets
/// of the connections it accepted, and only it touches them; other threads hand it work with
/// ``execute(_:)``.
///
/// One loop per core, shared by every entry point of the process. Each loop waits on every
/// listener (EPOLLEXCLUSIVE wakes one of them per connection) and keeps what it accepts.
final class RelayLoop: @unchecked Sendable {
    static let shared: [RelayLoop] = (0..<max(1, ProcessInfo.processInfo.activeProcessorCount)).map { index in
        let loop = RelayLoop()
        let thread = Thread {
            Thread.current.name = "pyre-relay-\(index)"  // as top -H and perf show it
            loop.run()
        }
        thread.start()
        return loop
    }

    private enum Entry {
        case listener(RelayListener)
        case connection(RelayedConnection)
    }

    private struct Timer {
        var deadline: ContinuousClock.Instant
        var fire: () -> Void
    }

    /// Readiness of at most this many sockets is handled per wait.
    private static let eventsPerWait = 256
    private static let scratchSize = 64 * 1024

    private let epoll: Int32
    private let wakeup: Int32
    private let commands = Mutex<[@Sendable (RelayLoop) -> Void]>([])
    let calls = SystemSocketCalls()

    // Only the loop's thread touches what follows.
    /// By descriptor; each registration's event data carries the entry's generation too, so an event
    /// for a socket closed earlier in the same wait never reaches a new one that reused its number.
    private var entries: [(generation: UInt32, entry: Entry)?] = []
    private var nextGeneration: UInt32 = 0
    /// By owner: connects under way and when they time out, listeners paused for want of descriptors.
    private var timers: [ObjectIdentifier: Timer] = [:]
    /// Where each read lands before it is written to the other socket.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: scratchSize, alignment: 16)

    private init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeup = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(epoll >= 0 && wakeup >= 0, "epoll_create1 or eventfd failed: \(String(cString: strerror(errno)))")
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = UInt64.max
        epoll_ctl(epoll, EPOLL_CTL_ADD, wakeup, &event)
    }

    /// Runs `command` on the loop's thread, soon.
    func execute(_ command: @escaping @Sendable (RelayLoop) -> Void) {
        commands.withLock { $0.append(command) }
        var one: UInt64 = 1
        _ = write(wakeup, &one, 8)
    }

    /// Runs `command` on the loop's thread and returns once it has.
    func perform(_ command: @escaping @Sendable (RelayLoop) -> Void) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            execute { loop in
                command(loop)
                done.resume()
            }
        }
    }

    // MARK: the thread

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: Self.eventsPerWait)
        while true {
            let count = epoll_wait(epoll, &events, Int32(Self.eventsPerWait), waitMilliseconds())
            for index in 0..<max(0, Int(count)) {
                dispatch(events[index])
            }
            if !timers.isEmpty { expireTimers() }
        }
    }

    private func dispatch(_ event: epoll_event) {
        let data = event.data.u64
        if data == UInt64.max {
            runCommands()
            return
        }
        let descriptor = Int32(truncatingIfNeeded: data & 0xFFFF_FFFF)
        guard Int(descriptor) < entries.count, let slot = entries[Int(descriptor)],
              slot.generation == UInt32(truncatingIfNeeded: data >> 32) else { return }
        switch slot.entry {
        case .listener(let listener): accept(from: listener)
        case .connection(let connection): connection.handle(descriptor, events: event.events)
        }
    }

    private func runCommands() {
        var count: UInt64 = 0
        _ = read(wakeup, &count, 8)
        let pending = commands.withLock { commands in
            defer { commands = [] }
            return commands
        }
        for command in pending { command(self) }
    }

    /// One connection per wakeup, as nginx does without `multi_accept`: EPOLLEXCLUSIVE wakes one
    /// loop per connection, so a burst of connects is spread over the loops, and a flood of
    /// connects cannot starve the connections already relayed.
    private func accept(from listener: RelayListener) {
        let client = pyre_accept(listener.descriptor)
        guard client >= 0 else {
            switch errno {
            // Nothing waiting, or a connection that went away before it was taken: nothing to do.
            case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED, EPROTO, EPERM: break
            default: pause(listener, reason: String(cString: strerror(errno)))
            }
            return
        }
        TCPSocket.setNoDelay(client)
        RelayedConnection(client: client, loop: self, context: listener.context).start()
    }

    // MARK: listeners

    /// Starts accepting on `listener` (from any loop's thread, through ``execute(_:)``).
    func add(_ listener: RelayListener) {
        watch(listener.descriptor, events: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue, entry: .listener(listener))
    }

    /// Stops accepting on `listener`; its connections go on.
    func remove(_ listener: RelayListener) {
        cancelTimer(for: listener)
        unwatch(listener.descriptor)
    }

    /// When accept fails for want of resources (descriptors, memory) the listener stays readable:
    /// rather than spin, the loop leaves new connections in the backlog for a while.
    private func pause(_ listener: RelayListener, reason: String) {
        listener.context.logger.error("cannot accept connections (\(reason)); new ones wait in the backlog for 100 ms")
        unwatch(listener.descriptor)
        startTimer(for: listener, deadline: .now + .milliseconds(100)) { [unowned self] in self.add(listener) }
    }

    // MARK: a connection's sockets

    /// Starts reporting readiness of a connection's socket.
    func watch(_ descriptor: Int32, events: UInt32, for connection: RelayedConnection) {
        watch(descriptor, events: events, entry: .connection(connection))
    }

    /// Changes which readiness of a watched socket is reported.
    func change(_ descriptor: Int32, events: UInt32) {
        guard let slot = entries[Int(descriptor)] else { return }
        control(EPOLL_CTL_MOD, descriptor, generation: slot.generation, events: events)
    }

    /// Stops watching a socket (before it is closed, or when nothing more is wanted from it).
    func unwatch(_ descriptor: Int32) {
        guard Int(descriptor) < entries.count, entries[Int(descriptor)] != nil else { return }
        entries[Int(descriptor)] = nil
        epoll_ctl(epoll, EPOLL_CTL_DEL, descriptor, nil)
    }

    private func watch(_ descriptor: Int32, events: UInt32, entry: Entry) {
        let index = Int(descriptor)
        if index >= entries.count { entries += Array(repeating: nil, count: index + 1 - entries.count) }
        nextGeneration &+= 1
        entries[index] = (nextGeneration, entry)
        control(EPOLL_CTL_ADD, descriptor, generation: nextGeneration, events: events)
    }

    /// The event data is the generation and the descriptor, as ``dispatch(_:)`` reads them.
    private func control(_ operation: Int32, _ descriptor: Int32, generation: UInt32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: descriptor))
        epoll_ctl(epoll, operation, descriptor, &event)
    }

    // MARK: connect timeouts

    /// Runs `fire` on the loop's thread at `deadline`, unless cancelled first; one timer per owner.
    func startTimer(for owner: AnyObject, deadline: ContinuousClock.Instant, fire: @escaping () -> Void) {
        timers[ObjectIdentifier(owner)] = Timer(deadline: deadline, fire: fire)
    }

    func cancelTimer(for owner: AnyObject) {
        timers[ObjectIdentifier(owner)] = nil
    }

    private func waitMilliseconds() -> Int32 {
        guard let next = timers.values.map(\.deadline).min() else { return -1 }
        let left = ContinuousClock.now.duration(to: next)
        // Rounded up, so the loop never wakes just before a deadline and waits again with 0.
        return Int32(clamping: max(0, (left.components.seconds * 1_000) + left.components.attoseconds / 1_000_000_000_000_000 + 1))
    }

    private func expireTimers() {
        let now = ContinuousClock.now
        let expired = timers.filter { $0.value.deadline <= now }
        for (owner, timer) in expired {
            timers[owner] = nil
            timer.fire()
        }
    }
}

/// A listening socket and the entry point its connections belong to.
final class RelayListener: Sendable {
    let descriptor: Int32
    let context: RelayContext

    init(descriptor: Int32, context: RelayContext) {
        self.descriptor = descriptor
        self.context = context
    }
}
