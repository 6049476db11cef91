import Foundation
import PyreAgent

#if canImport(Glibc)
import Glibc
#endif

/// Prints progress for people: colour only on a terminal and without NO_COLOR.
enum Terminal {
    static let colour = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    private static let lock = NSLock()

    static func progress(_ line: ProgressLine) {
        guard !line.message.isEmpty else { return }
        let text: String
        switch line.kind {
        case .output: text = paint("  │ " + line.message, 2)
        case .error: text = paint(line.message, 31)
        case .result: text = paint(line.message, line.ok == true ? 32 : 31)
        case .server: text = "  " + line.message
        default: text = line.message
        }
        lock.withLock {
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }

    /// Writes one line to standard output unbuffered (a pipe sees it at once); when the
    /// reader has gone (`pyre logs | head`), exits quietly as other Unix tools do.
    static func writeLine(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress! + written, bytes.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                exit(errno == EPIPE ? 0 : 1)
            }
            written += result
        }
    }

    static func error(_ message: String) {
        let text = isatty(STDERR_FILENO) == 1 ? "\u{1B}[31merror:\u{1B}[0m \(message)\n" : "error: \(message)\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func paint(_ text: String, _ code: Int) -> String {
        colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
