import PyreCore
import PyreDNS

/// Feeds seeded random and mutated packets to the message decoder and the responder and
/// checks that every reply is well formed. Used by the PyreDNSFuzz executable and a test.
public struct DNSFuzzer {
    public struct Report: Sendable {
        public var inputs = 0
        public var replies = 0
        public var decodedInputs = 0
        public var slowestInput = Duration.zero
    }

    public typealias Failure = FuzzFailure

    private var random: SplitMix64
    private let responder: DNSResponder
    private let names: [String]

    public init(seed: UInt64, zone: DNSZone) {
        random = SplitMix64(seed: seed)
        responder = DNSResponder(zone: zone)
        names = zone.ownerNames + ["nope.\(zone.apex)", "example.com.", "."]
    }

    public mutating func run(count: Int) throws(Failure) -> Report {
        var report = Report()
        let clock = ContinuousClock()
        for _ in 0..<count {
            let input = nextInput()
            let start = clock.now
            if (try? DNSMessage(decoding: input)) != nil { report.decodedInputs += 1 }
            for transport in [DNSTransport.udp, .tcp] {
                guard let reply = responder.respond(to: input, transport: transport) else { continue }
                report.replies += 1
                try check(reply, to: input, over: transport)
            }
            report.slowestInput = max(report.slowestInput, clock.now - start)
            report.inputs += 1
        }
        return report
    }

    private func check(_ reply: [UInt8], to input: [UInt8], over transport: DNSTransport) throws(Failure) {
        let message: DNSMessage
        do {
            message = try DNSMessage(decoding: reply)
        } catch {
            throw Failure(input: input, problem: "the reply does not decode (\(error))")
        }
        guard message.isResponse, input.count >= 2, message.id == UInt16(input[0]) << 8 | UInt16(input[1]) else {
            throw Failure(input: input, problem: "the reply is not a response with the query's ID")
        }
        guard transport == .tcp || reply.count <= DNSResponder.maxUDPPayload else {
            throw Failure(input: input, problem: "a UDP reply of \(reply.count) bytes")
        }
    }

    private mutating func nextInput() -> [UInt8] {
        switch random.next() % 8 {
        case 0: return (0..<Int(random.next() % 600)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        case 1: return validQuery()
        default:
            var packet = validQuery()
            for _ in 0...(random.next() % 4) { mutate(&packet) }
            return packet
        }
    }

    private mutating func validQuery() -> [UInt8] {
        let types: [UInt16] = [1, 2, 5, 6, 15, 16, 28, 33, 41, 251, 252, 255, 0, 65535]
        var packet: [UInt8] = [UInt8(truncatingIfNeeded: random.next()), UInt8(truncatingIfNeeded: random.next())]
        packet += [random.next() % 2 == 0 ? 0 : 1, 0, 0, 1, 0, 0, 0, 0, 0]
        let withEDNS = random.next() % 2 == 0
        packet.append(withEDNS ? 1 : 0)
        let name = names[Int(random.next() % UInt64(names.count))]
        for label in name.split(separator: ".") {
            packet.append(UInt8(label.utf8.count))
            packet += label.utf8.map { random.next() % 4 == 0 ? asciiUppercased($0) : $0 }
        }
        packet.append(0)
        let type = types[Int(random.next() % UInt64(types.count))]
        packet += [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
        if withEDNS {
            let size = UInt16(truncatingIfNeeded: random.next())
            let options: [UInt8] = random.next() % 2 == 0 ? [] : [0xFD, 0xE9, 0, 2, 1, 2]
            packet += [0, 0, 41, UInt8(size >> 8), UInt8(size & 0xFF), 0, UInt8(random.next() % 3), 0x80, 0,
                       0, UInt8(options.count)] + options
        }
        return packet
    }

    private mutating func mutate(_ packet: inout [UInt8]) {
        guard !packet.isEmpty else { return }
        let position = Int(random.next() % UInt64(packet.count))
        switch random.next() % 7 {
        case 0: packet[position] ^= UInt8(1) << (random.next() % 8)
        case 1: packet[position] = UInt8(truncatingIfNeeded: random.next())
        case 2: packet.removeSubrange(position...)
        case 3: packet.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
        case 4: packet.remove(at: position)
        case 5:
            // A compression pointer anywhere, often pointing at itself or forward.
            packet.insert(contentsOf: [0xC0 | UInt8(random.next() % 4), UInt8(truncatingIfNeeded: random.next())],
                          at: position)
        default:
            // Header counts are what decoders trust most.
            let count = 4 + 2 * Int(random.next() % 4)
            if count + 1 < packet.count { packet[count + 1] = UInt8(truncatingIfNeeded: random.next() % 5) }
        }
    }
}

private func asciiUppercased(_ byte: UInt8) -> UInt8 {
    byte &- 0x61 < 26 ? byte & ~0x20 : byte
}
