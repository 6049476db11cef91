import Foundation
import PyreCore

/// Where `pyre-sandbox` is: namespace-mode servers and whole-server build steps run in it.
public enum SandboxHelper {
    /// `$PYRE_SANDBOX`, else next to the running executable (SwiftPM builds it beside
    /// `pyre`, the benchmarks and the test bundle). `purpose` and `otherwise` finish the
    /// error that says it is missing.
    public static func path(for purpose: String, otherwise: String) throws -> String {
        if let path = ProcessInfo.processInfo.environment["PYRE_SANDBOX"] { return path }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let helper = executable.deletingLastPathComponent().appendingPathComponent("pyre-sandbox").path
        guard FileManager.default.isExecutableFile(atPath: helper) else {
            throw PyreError(.provider, "\(purpose) needs `pyre-sandbox` next to \(executable.path) "
                + "(`swift build` builds it) or at $PYRE_SANDBOX; \(otherwise)")
        }
        return helper
    }
}
