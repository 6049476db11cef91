import Glibc
import PyreCore
import Logging
import PyrePOSIX

/// Makes this process the child subreaper (`PR_SET_CHILD_SUBREAPER`): processes that
/// servers leave behind are handed to the agent instead of PID 1, so destroy can reap them
/// even where PID 1 does not (as in many containers), and no zombie of a server outlives it.
/// Process-wide and idempotent.
enum ChildSubreaper {
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private static let setChildSubreaper: Int32 = 36

    static func enable(logger: Logger) {
        // prctl is variadic in C, which Swift cannot call directly.
        guard let prctl = cLibrarySymbol("prctl", as: Prctl.self) else { return }
        if prctl(setChildSubreaper, 1, 0, 0, 0) != 0 {
            logger.warning("cannot become child subreaper (\(String(cString: strerror(errno)))); leftover server processes go to PID 1")
        }
    }
}
