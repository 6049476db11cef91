/// Maps wire-format names to indices without allocating per lookup: the query's name bytes
/// are hashed and compared in place, ASCII case folded.
struct DNSNameTable: Sendable {
    private var slots: [Int32]
    private var keyStarts: [Int]
    private var keyBytes: [UInt8] = []
    private let mask: Int

    /// `names[i]` (lowercased wire form) maps to i.
    init(names: [[UInt8]]) {
        var capacity = 16
        while capacity < names.count * 2 { capacity *= 2 }
        mask = capacity - 1
        slots = Array(repeating: -1, count: capacity)
        keyStarts = [0]
        for (index, name) in names.enumerated() {
            keyBytes.append(contentsOf: name)
            keyStarts.append(keyBytes.count)
            var slot = name.withUnsafeBytes { Self.hash($0) } & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index)
        }
    }

    func index(of name: UnsafeRawBufferPointer) -> Int? {
        var slot = Self.hash(name) & mask
        while true {
            let candidate = Int(slots[slot])
            if candidate < 0 { return nil }
            if matches(name, candidate) { return candidate }
            slot = (slot + 1) & mask
        }
    }

    private func matches(_ name: UnsafeRawBufferPointer, _ index: Int) -> Bool {
        let start = keyStarts[index]
        guard keyStarts[index + 1] - start == name.count else { return false }
        return keyBytes.withUnsafeBufferPointer { key in
            for offset in 0..<name.count where asciiLowercased(name[offset]) != key[start + offset] {
                return false
            }
            return true
        }
    }

    /// FNV-1a over the case-folded bytes.
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash = (hash ^ UInt32(asciiLowercased(byte))) &* 16_777_619
        }
        return Int(hash)
    }
}
