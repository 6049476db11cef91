import PyreCore
#if canImport(Glibc)
import Glibc
#endif

/// `--grep`: a POSIX extended regular expression, as `grep -E` reads it, matched bytewise.
/// A pattern without special characters is searched as a plain substring, which is much faster.
final class MessageMatcher {
    private enum Kind {
        case literal([UInt8])
        case regex(UnsafeMutablePointer<regex_t>)
    }

    private let kind: Kind
    /// regexec wants a NUL-terminated string; messages are copied here first.
    private var scratch: [CChar] = []

    init(_ pattern: String) throws {
        if !pattern.contains(where: { "\\^$.[]|()*+?{}".contains($0) }) {
            kind = .literal(Array(pattern.utf8))
            return
        }
        let compiled = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        let status = regcomp(compiled, pattern, REG_EXTENDED | REG_NOSUB)
        guard status == 0 else {
            var message = [CChar](repeating: 0, count: 256)
            regerror(status, compiled, &message, message.count)
            compiled.deallocate()
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PyreError(.logs, "--grep '\(pattern)' is not a POSIX extended regular expression: \(reason)")
        }
        kind = .regex(compiled)
    }

    deinit {
        if case .regex(let compiled) = kind {
            regfree(compiled)
            compiled.deallocate()
        }
    }

    /// memchr for the first byte, memcmp for the rest (Glibc's memmem is not imported).
    private func contains(_ needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer) -> Bool {
        guard needle.count <= haystack.count, let base = haystack.baseAddress else { return false }
        let first = Int32(needle[0])
        var start = 0
        let lastStart = haystack.count - needle.count
        while start <= lastStart {
            guard let hit = memchr(base + start, first, lastStart - start + 1) else { return false }
            let index = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + index, needle.baseAddress!, needle.count) == 0 { return true }
            start = index + 1
        }
        return false
    }

    func matches(_ message: UnsafeRawBufferPointer) -> Bool {
        switch kind {
        case .literal(let needle):
            if needle.isEmpty { return true }
            return needle.withUnsafeBytes { contains($0, in: message) }
        case .regex(let compiled):
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: message.lazy.map { CChar(bitPattern: $0 == 0 ? 0x20 : $0) })
            scratch.append(0)
            return regexec(compiled, scratch, 0, nil, 0) == 0
        }
    }
}
