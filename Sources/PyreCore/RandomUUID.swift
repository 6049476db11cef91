import Foundation

extension UUID {
    /// A random (version 4) UUID. On Linux, Foundation's `UUID()` opens, reads and closes
    /// /dev/urandom for every id; the standard library's generator asks the kernel directly
    /// (`getrandom`), which spares appends that name new events two system calls per event.
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        var halves = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeMutableBytes(of: &halves) { bytes in
            bytes[6] = bytes[6] & 0x0F | 0x40  // version 4
            bytes[8] = bytes[8] & 0x3F | 0x80  // RFC 9562 variant
            return UUID(uuid: bytes.load(as: uuid_t.self))
        }
    }
}
