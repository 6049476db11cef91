import Foundation
import Glibc

/// How the local provider keeps servers apart.
public enum IsolationMode: String, Sendable, Codable, CaseIterable {
    /// Own mount, PID, UTS, IPC and network namespace per server, on a bridge for the system.
    case namespaces
    /// A plain process in a scratch copy of the image, on its own loopback address.
    case process

    /// `namespaces` when running as root on Linux with iproute2's `ip`, else `process`.
    public static func automatic() -> IsolationMode {
        #if os(Linux)
        if getuid() == 0, ExecutableLookup.find("ip") != nil {
            return .namespaces
        }
        #endif
        return .process
    }
}

/// Finds system tools by name, also in the sbin directories a non-login PATH may lack.
enum ExecutableLookup {
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return directories.lazy.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }
}
