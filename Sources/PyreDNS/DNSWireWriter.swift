/// Builds message bytes with name compression (RFC 1035 §4.1.4). Used when a zone snapshot
/// is built, never per query, so it may allocate freely.
struct DNSWireWriter {
    private(set) var bytes: [UInt8] = []
    /// Where each already-written name (and every suffix of it) starts.
    private var nameOffsets: [DNSName: Int] = [:]
    /// Offset of bytes[0] in the message; lets a writer produce just the tail of a message.
    private let base: Int

    init(base: Int = 0) { self.base = base }

    var messageLength: Int { base + bytes.count }

    /// Records that `name` is present at `offset` in the message (e.g. in the question)
    /// so later names can point to it.
    mutating func registerName(_ name: DNSName, at offset: Int) {
        var suffix: DNSName? = name
        var position = offset
        while let current = suffix, !current.labels.isEmpty, position < 0x4000 {
            if nameOffsets[current] == nil { nameOffsets[current] = position }
            position += 1 + current.labels[0].count
            suffix = current.parent
        }
    }

    mutating func writeName(_ name: DNSName, compress: Bool = true) {
        var remaining = name.labels[...]
        while !remaining.isEmpty {
            let suffix = DNSName(labels: Array(remaining))
            if compress, let offset = nameOffsets[suffix] {
                writeUInt16(0xC000 | UInt16(offset))
                return
            }
            if compress, nameOffsets[suffix] == nil, messageLength < 0x4000 {
                // Only this suffix: the shorter ones are registered as they are written.
                nameOffsets[suffix] = messageLength
            }
            let label = remaining.removeFirst()
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
    }

    mutating func writeUInt8(_ value: UInt8) { bytes.append(value) }

    mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func writeUInt32(_ value: UInt32) {
        writeUInt16(UInt16(value >> 16))
        writeUInt16(UInt16(truncatingIfNeeded: value))
    }

    mutating func writeBytes(_ values: [UInt8]) { bytes.append(contentsOf: values) }

    /// Writes a 16-bit length placeholder, runs `body`, then fills the length in.
    mutating func writeLengthPrefixed(_ body: (inout DNSWireWriter) -> Void) {
        let lengthIndex = bytes.count
        writeUInt16(0)
        body(&self)
        let length = bytes.count - lengthIndex - 2
        bytes[lengthIndex] = UInt8(length >> 8)
        bytes[lengthIndex + 1] = UInt8(truncatingIfNeeded: length)
    }
}
