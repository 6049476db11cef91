import Glibc

/// What a socket call did: moved bytes (0 read = the peer's FIN), would have blocked, or failed.
enum SocketOutcome: Equatable {
    case moved(Int)
    case wouldBlock
    case failed(Int32)
}

/// The socket calls a relay direction makes: system calls in the relay, a fake in tests.
protocol RelaySocketCalls {
    func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> SocketOutcome
    func write(_ descriptor: Int32, from buffer: UnsafeRawBufferPointer) -> SocketOutcome
    func shutDownOutput(_ descriptor: Int32)
}

struct SystemSocketCalls: RelaySocketCalls {
    func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> SocketOutcome {
        Self.outcome(recv(descriptor, buffer.baseAddress, buffer.count, 0))
    }

    /// MSG_NOSIGNAL: a peer that closed answers with EPIPE rather than killing the process with SIGPIPE.
    func write(_ descriptor: Int32, from buffer: UnsafeRawBufferPointer) -> SocketOutcome {
        Self.outcome(send(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)))
    }

    func shutDownOutput(_ descriptor: Int32) {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    private static func outcome(_ result: Int) -> SocketOutcome {
        if result >= 0 { return .moved(result) }
        let code = errno
        return code == EAGAIN || code == EWOULDBLOCK || code == EINTR ? .wouldBlock : .failed(code)
    }
}

/// A socket call that failed, which ends the connection: the errno and the socket it was made on.
struct RelayFailure: Equatable {
    var code: Int32
    var descriptor: Int32
}

/// One direction of a relayed connection: what `source` sends is written to `destination`.
///
/// Backpressure: what the destination does not take at once is kept, and the source is not read
/// again until it is written, so a direction holds at most one read. Half-close: the source's FIN
/// shuts down the destination's output once everything read before it is written.
///
/// Holding: a direction made `holding` also keeps a copy of everything it relayed (up to
/// ``holdLimit``) until ``stopHolding()``, so the bytes can be sent again to another destination.
struct RelayDirection {
    let source: Int32
    let destination: Int32
    /// Read but not yet taken by the destination. Almost always empty, so an idle connection holds no buffer.
    private var unwritten: [UInt8] = []
    private var written = 0
    /// The source sent its FIN.
    private(set) var sourceEnded = false
    /// The destination's output is shut down: nothing more goes this way.
    private(set) var isFinished = false
    /// Everything read from the source so far, while holding; nil when not (or no longer) holding.
    private var held: [UInt8]?
    /// Bytes read from the source so far.
    private(set) var relayedBytes = 0

    /// The most a holding direction copies; past it the copy is dropped (and the bytes cannot be sent again).
    static let holdLimit = 64 * 1024

    /// `pending` is written to the destination before anything is read from the source.
    init(from source: Int32, to destination: Int32, holding: Bool = false, pending: [UInt8] = []) {
        self.source = source
        self.destination = destination
        unwritten = pending
        held = holding ? pending : nil
    }

    /// The source should be read: it has not ended, and nothing read is still waiting.
    var wantsRead: Bool { !sourceEnded && written == unwritten.count }
    /// The destination should be written to when it can take more.
    var wantsWrite: Bool { written < unwritten.count }

    /// Everything relayed so far, when this direction still holds all of it and its source has not
    /// ended (a FIN cannot be sent again); nil otherwise.
    var heldBytes: [UInt8]? { sourceEnded ? nil : held }

    mutating func stopHolding() { held = nil }

    /// The source is readable: reads once into `scratch` and writes what came to the destination.
    /// Returns the failed call, after which the connection is over.
    mutating func relay(_ calls: some RelaySocketCalls, scratch: UnsafeMutableRawBufferPointer) -> RelayFailure? {
        switch calls.read(source, into: scratch) {
        case .wouldBlock:
            return nil
        case .failed(let code):
            return RelayFailure(code: code, descriptor: source)
        case .moved(0):
            sourceEnded = true
            if !wantsWrite { finish(calls) }
            return nil
        case .moved(let count):
            let chunk = UnsafeRawBufferPointer(rebasing: scratch[..<count])
            relayedBytes += count
            if held != nil { hold(chunk) }
            switch calls.write(destination, from: chunk) {
            case .failed(let code):
                return RelayFailure(code: code, descriptor: destination)
            case .wouldBlock:
                keep(chunk)
            case .moved(let sent) where sent < count:
                keep(UnsafeRawBufferPointer(rebasing: chunk[sent...]))
            case .moved:
                break
            }
            return nil
        }
    }

    /// The destination is writable again: writes what was kept, then passes on a FIN that waited for it.
    mutating func flush(_ calls: some RelaySocketCalls) -> RelayFailure? {
        guard wantsWrite else { return nil }
        let outcome = unwritten.withUnsafeBytes { calls.write(destination, from: UnsafeRawBufferPointer(rebasing: $0[written...])) }
        switch outcome {
        case .failed(let code):
            return RelayFailure(code: code, descriptor: destination)
        case .wouldBlock:
            return nil
        case .moved(let sent):
            written += sent
            if written == unwritten.count {
                unwritten = []
                written = 0
                if sourceEnded { finish(calls) }
            }
            return nil
        }
    }

    private mutating func hold(_ bytes: UnsafeRawBufferPointer) {
        if held!.count + bytes.count > Self.holdLimit { held = nil } else { held!.append(contentsOf: bytes) }
    }

    private mutating func keep(_ bytes: UnsafeRawBufferPointer) {
        unwritten = Array(bytes)
        written = 0
    }

    private mutating func finish(_ calls: some RelaySocketCalls) {
        calls.shutDownOutput(destination)
        isFinished = true
    }
}
