import Foundation
import PyreCore

/// No two Pyre systems on one machine serve on the same loopback prefix: a server of one could
/// bind an address that the other's health probes and entry points still send to, between a
/// server's death and the probe that notices it. A running system holds its prefix with a lock
/// file in /tmp (flock: the kernel drops it when the agent ends, however it ends); a system whose
/// preferred prefix is held takes the next free one.
enum LoopbackClaim {
    /// The prefixes defaults come from (``LocalProviderConfiguration``): 127.100 to 127.249.
    static let octets: ClosedRange<UInt32> = 100...249

    /// The first free prefix from `preferred` on (wrapping), with the lock that holds it.
    static func take(preferring preferred: UInt32) throws -> (prefix: UInt32, lock: FileLock) {
        let wanted = (preferred >> 16) & 0xff
        let start = octets.contains(wanted) ? wanted - octets.lowerBound : 0
        let count = UInt32(octets.count)
        for offset in 0..<count {
            let octet = octets.lowerBound + (start + offset) % count
            // Any failure (held, or a lock file another user made unreadable) means another's.
            if let lock = try? FileLock(file: lockFile(octet: octet), busy: PyreError(.provider, "held")) {
                return ((127 << 24) | (octet << 16), lock)
            }
        }
        throw PyreError(.provider, "every loopback prefix from 127.\(octets.lowerBound) to 127.\(octets.upperBound) is held by "
            + "another Pyre system on this machine (lock files /tmp/pyre-loopback-127.N.lock); stop one of them")
    }

    static func lockFile(octet: UInt32) -> URL {
        URL(fileURLWithPath: "/tmp/pyre-loopback-127.\(octet).lock")
    }
}
