@testable import PyreEntrypoints
import Testing

/// One relay direction on fake sockets whose every read and write the test scripts: bytes cross
/// in order, the source is not read while the destination holds back, and a FIN goes on only
/// after what was read before it.
struct RelayDirectionTests {
    /// Socket 1 is the source, socket 2 the destination. Reads hand out `incoming` in turn; each
    /// write takes at most the next of `capacities` bytes (0: would block), all when none is left.
    private final class FakeSockets: RelaySocketCalls {
        var incoming: [SocketOutcome]
        var chunks: [[UInt8]]
        var capacities: [Int]
        var log: [String] = []

        init(chunks: [[UInt8]], thenRead last: SocketOutcome = .wouldBlock, capacities: [Int] = []) {
            self.chunks = chunks
            self.incoming = chunks.map { .moved($0.count) } + [last]
            self.capacities = capacities
        }

        func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> SocketOutcome {
            #expect(descriptor == 1)
            let next = incoming.isEmpty ? .wouldBlock : incoming.removeFirst()
            if case .moved(let count) = next, count > 0 {
                buffer.copyBytes(from: chunks.removeFirst())
            }
            log.append("read \(next)")
            return next
        }

        func write(_ descriptor: Int32, from buffer: UnsafeRawBufferPointer) -> SocketOutcome {
            #expect(descriptor == 2)
            let capacity = capacities.isEmpty ? buffer.count : capacities.removeFirst()
            if capacity < 0 { return .failed(32) }
            guard capacity > 0 else { return .wouldBlock }
            let taken = min(capacity, buffer.count)
            log.append("wrote " + String(decoding: buffer.prefix(taken), as: UTF8.self))
            return .moved(taken)
        }

        func shutDownOutput(_ descriptor: Int32) {
            log.append("shut down \(descriptor)")
        }
    }

    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)

    @Test func bytesCrossInOrder() {
        let sockets = FakeSockets(chunks: [Array("hello ".utf8), Array("world".utf8)])
        var direction = RelayDirection(from: 1, to: 2)
        #expect(direction.relay(sockets, scratch: scratch) == nil)
        #expect(direction.relay(sockets, scratch: scratch) == nil)
        #expect(sockets.log == ["read moved(6)", "wrote hello ", "read moved(5)", "wrote world"])
        #expect(direction.wantsRead && !direction.wantsWrite && !direction.isFinished)
    }

    @Test func theSourceIsNotReadWhileTheDestinationHoldsBack() {
        let sockets = FakeSockets(chunks: [Array("abcdefgh".utf8)], capacities: [3, 0, 2])
        var direction = RelayDirection(from: 1, to: 2)
        #expect(direction.relay(sockets, scratch: scratch) == nil)
        #expect(!direction.wantsRead && direction.wantsWrite)
        #expect(direction.flush(sockets) == nil)  // would block: still held
        #expect(!direction.wantsRead && direction.wantsWrite)
        #expect(direction.flush(sockets) == nil)
        #expect(direction.flush(sockets) == nil)
        #expect(direction.wantsRead && !direction.wantsWrite)
        #expect(sockets.log == ["read moved(8)", "wrote abc", "wrote de", "wrote fgh"])
    }

    @Test func aFINGoesOnOnlyAfterWhatWasReadBeforeIt() {
        let sockets = FakeSockets(chunks: [Array("last".utf8)], thenRead: .moved(0), capacities: [1])
        var direction = RelayDirection(from: 1, to: 2)
        #expect(direction.relay(sockets, scratch: scratch) == nil)
        #expect(!direction.wantsRead)  // the FIN is not even read yet
        #expect(direction.flush(sockets) == nil)
        #expect(direction.relay(sockets, scratch: scratch) == nil)
        #expect(direction.isFinished && !direction.wantsRead && !direction.wantsWrite)
        #expect(sockets.log == ["read moved(4)", "wrote l", "wrote ast", "read moved(0)", "shut down 2"])
    }

    @Test func aFailedReadOrWriteEndsTheDirection() {
        let reset = FakeSockets(chunks: [], thenRead: .failed(104))
        var reading = RelayDirection(from: 1, to: 2)
        #expect(reading.relay(reset, scratch: scratch) == RelayFailure(code: 104, descriptor: 1))

        let broken = FakeSockets(chunks: [Array("x".utf8)], capacities: [-1])
        var writing = RelayDirection(from: 1, to: 2)
        #expect(writing.relay(broken, scratch: scratch) == RelayFailure(code: 32, descriptor: 2))
    }

    @Test func aHoldingDirectionKeepsWhatItRelayedUntilTold() {
        let sockets = FakeSockets(chunks: [Array("GET ".utf8), Array("/".utf8)])
        var direction = RelayDirection(from: 1, to: 2, holding: true, pending: Array("re:".utf8))
        #expect(!direction.wantsRead && direction.wantsWrite)  // the pending bytes go first
        #expect(direction.flush(sockets) == nil)
        #expect(direction.relay(sockets, scratch: scratch) == nil)
        #expect(direction.relay(sockets, scratch: scratch) == nil)
        #expect(direction.heldBytes == Array("re:GET /".utf8) && direction.relayedBytes == 5)
        direction.stopHolding()
        #expect(direction.heldBytes == nil)
        #expect(sockets.log == ["wrote re:", "read moved(4)", "wrote GET ", "read moved(1)", "wrote /"])
    }

    @Test func aHeldCopyIsDroppedPastTheLimitOrAfterTheSourceEnds() {
        let big = [UInt8](repeating: 65, count: 64)
        let sockets = FakeSockets(chunks: Array(repeating: big, count: RelayDirection.holdLimit / 64 + 1))
        var direction = RelayDirection(from: 1, to: 2, holding: true)
        for _ in 0..<(RelayDirection.holdLimit / 64) { _ = direction.relay(sockets, scratch: scratch) }
        #expect(direction.heldBytes?.count == RelayDirection.holdLimit)
        _ = direction.relay(sockets, scratch: scratch)
        #expect(direction.heldBytes == nil)

        let ended = FakeSockets(chunks: [Array("x".utf8)], thenRead: .moved(0))
        var finishing = RelayDirection(from: 1, to: 2, holding: true)
        _ = finishing.relay(ended, scratch: scratch)
        #expect(finishing.heldBytes == Array("x".utf8))
        _ = finishing.relay(ended, scratch: scratch)
        #expect(finishing.heldBytes == nil)
    }
}
