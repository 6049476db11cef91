import Foundation

/// Reads the end of a server's `stdout.log` or `stderr.log`.
enum OutputLog {
    /// The last `lines` lines of the file (without the final newline); empty when the file is missing.
    static func tail(of url: URL, lines: Int) -> [String] {
        guard lines > 0, let handle = try? FileHandle(forReadingFrom: url) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        // Generous per-line allowance; long lines beyond it are cut at the front.
        let window = UInt64(max(64 * 1024, lines * 1024))
        let start = size > window ? size - window : 0
        try? handle.seek(toOffset: start)
        let data = (try? handle.readToEnd()) ?? Data()
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        guard !text.isEmpty else { return [] }
        var all = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if start > 0, !all.isEmpty { all.removeFirst() }
        return Array(all.suffix(lines))
    }
}
