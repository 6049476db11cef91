import Foundation
import PyreAPI

#if canImport(Glibc)
import Glibc
#endif

/// Prints progress for people: colour only on a terminal and without NO_COLOR.
public enum Terminal {
    static let renderer = ProgressRenderer(
        colour: isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
    private static let lock = NSLock()

    /// Prints `event` as `ProgressRenderer` words it: the CLI's operations and `pyre up`'s console.
    public static func progress(_ event: ProgressEvent) {
        guard let text = renderer.render(event) else { return }
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

    static func paint(_ text: String, _ code: Int) -> String { renderer.paint(text, code) }
}
