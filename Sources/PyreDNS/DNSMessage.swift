/// A fully decoded DNS message. The server itself never builds one (it answers from
/// precomputed bytes); tests, the fuzz target and tools use it to read any message.
public struct DNSMessage: Sendable, Equatable {
    public var id: UInt16
    public var flags: UInt16
    public var questions: [Question]
    public var answers: [ResourceRecord]
    public var authority: [ResourceRecord]
    public var additional: [ResourceRecord]

    public struct Question: Sendable, Equatable {
        /// Presentation form, the sender's case kept.
        public var name: String
        public var type: UInt16
        public var questionClass: UInt16
    }

    public struct ResourceRecord: Sendable, Equatable {
        public var name: String
        public var type: UInt16
        public var recordClass: UInt16
        public var ttl: UInt32
        public var data: DecodedData
    }

    public enum DecodedData: Sendable, Equatable {
        case record(DNSRecordData)
        case soa(nameServer: String, hostmaster: String, serial: UInt32, refresh: UInt32, retry: UInt32,
                 expire: UInt32, minimum: UInt32)
        /// Any other type, and OPT: the raw RDATA.
        case unknown([UInt8])
    }

    public var isResponse: Bool { flags & 0x8000 != 0 }
    public var isAuthoritative: Bool { flags & 0x0400 != 0 }
    public var isTruncated: Bool { flags & 0x0200 != 0 }
    public var opcode: UInt8 { UInt8((flags >> 11) & 0x0F) }

    /// The 12-bit response code: the header's 4 bits and, with EDNS, the OPT's upper 8.
    public var responseCode: UInt16 {
        let upper = opt.map { UInt16($0.ttl >> 24) << 4 } ?? 0
        return upper | flags & 0x0F
    }

    public var opt: ResourceRecord? { additional.first { $0.type == DNSType.opt } }

    public init(decoding bytes: [UInt8]) throws(DNSDecodingError) {
        var reader = DNSWireReader(bytes)
        id = try reader.readUInt16()
        flags = try reader.readUInt16()
        let questionCount = try reader.readUInt16()
        let answerCount = try reader.readUInt16()
        let authorityCount = try reader.readUInt16()
        let additionalCount = try reader.readUInt16()
        questions = []
        for _ in 0..<questionCount {
            questions.append(Question(
                name: try reader.readName(), type: try reader.readUInt16(), questionClass: try reader.readUInt16()))
        }
        answers = try reader.readRecords(answerCount)
        authority = try reader.readRecords(authorityCount)
        additional = try reader.readRecords(additionalCount)
    }
}

public enum DNSDecodingError: Error, Equatable {
    case truncated
    case badPointer
    case badLabelType
    case nameTooLong
    case badRecordData(type: UInt16)
}
