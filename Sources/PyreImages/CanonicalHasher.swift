import Crypto
import PyreCore

/// Feeds a canonical, self-delimiting byte encoding into SHA-256.
///
/// Every variable-length field is preceded by its length and every record by a tag byte,
/// so two different inputs never produce the same byte stream.
struct CanonicalHasher {
    private var sha = SHA256()

    /// One byte naming the kind of the record that follows.
    mutating func tag(_ tag: Character) {
        sha.update(data: [tag.asciiValue!])
    }

    /// A fixed-width, big-endian integer.
    mutating func integer(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { sha.update(bufferPointer: $0) }
    }

    /// Length-prefixed bytes.
    mutating func bytes(_ bytes: some Collection<UInt8>) {
        integer(UInt64(bytes.count))
        sha.update(data: Array(bytes))
    }

    /// Length-prefixed UTF-8.
    mutating func string(_ string: String) {
        bytes(Array(string.utf8))
    }

    /// Count-prefixed list of strings.
    mutating func strings(_ strings: [String]) {
        integer(UInt64(strings.count))
        for string in strings { self.string(string) }
    }

    func finalize() -> ImageDigest {
        ImageDigest(sha256: sha.finalize())
    }
}

extension ImageDigest {
    /// The 64 hex digits of a well-formed `sha256:` digest, or nil when it is not one.
    var hex: String? {
        guard rawValue.hasPrefix("sha256:") else { return nil }
        let hex = rawValue.dropFirst(7)
        let isHex = hex.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        return hex.utf8.count == 64 && isHex ? String(hex) : nil
    }
}
