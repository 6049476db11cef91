/// Whether bytes are all zero, eight at a time: disks are scanned for blocks worth storing.
public enum ZeroBytes {
    public static func areAllZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let words = bytes.count / 8
        var index = 0
        while index < words {
            if bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) != 0 { return false }
            index += 1
        }
        for offset in (words * 8)..<bytes.count where bytes[offset] != 0 { return false }
        return true
    }
}
