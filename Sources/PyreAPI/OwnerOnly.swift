import Foundation
import PyreCore

#if canImport(Glibc)
import Glibc
#endif

/// Takes group and other permissions away from state that predates Pyre restricting it.
enum OwnerOnly {
    static func restrict(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw failure("cannot inspect", path) }
        // A symbolic link has no permissions of its own; chmod would change its target.
        guard info.st_mode & S_IFMT != S_IFLNK, info.st_mode & 0o077 != 0 else { return }
        guard chmod(path, info.st_mode & 0o7700) == 0 else { throw failure("cannot restrict the permissions of", path) }
    }

    /// `directory` and everything under it.
    static func restrictTree(_ directory: String) throws {
        try restrict(directory)
        let entries = FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? []
        for entry in entries { try restrict(directory + "/" + entry) }
    }

    private static func failure(_ action: String, _ path: String) -> PyreError {
        PyreError(.agent, "\(action) \(path): \(String(cString: strerror(errno))); "
            + "make the state directory owned by the user that runs pyre up")
    }
}
