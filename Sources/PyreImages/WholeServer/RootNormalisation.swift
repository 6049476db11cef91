#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PyreCore

/// What every whole-server root holds, whatever its base: the places a server gets mounts
/// of its own, empty, and none of the files that would tell of the machine it was built on.
/// Applied to a base when it is made, so the same base gives the same layer anywhere.
enum RootNormalisation {
    /// Directories the sandbox mounts over (their contents would never be seen), with
    /// their modes.
    static let mountPoints: [(path: String, mode: mode_t)] = [
        ("proc", 0o555), ("sys", 0o555), ("dev", 0o755), ("tmp", 0o1777), ("run", 0o755), ("var", 0o755),
        ("var/tmp", 0o1777), ("etc", 0o755),
    ]

    /// Files a server gets its own of (hosts, resolv.conf) or that named the build host,
    /// with the contents every image has.
    static let fixedFiles: [(path: String, contents: String)] = [
        ("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n"),
        ("etc/resolv.conf", ""),
        ("etc/hostname", "localhost\n"),
    ]

    /// Left by package managers and the build: logs, caches, the machine's identity.
    static let removedFiles = ["var/lib/dbus/machine-id", "var/cache/ldconfig/aux-cache", "var/lib/apt/extended_states"]
    /// Directories emptied of their files (the directories stay).
    static let emptiedDirectories = ["var/log", "var/cache/apt", "var/lib/apt/lists", "var/cache/debconf/tmp"]

    static func apply(to root: URL) throws {
        for (path, mode) in mountPoints {
            let target = root.path + "/" + path
            var info = stat()
            if lstat(target, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
                if !["var", "etc"].contains(path) { try removeContents(of: target) }
            } else {
                try FileTree.remove(target)
                guard mkdir(target, mode) == 0 else { throw posixError("cannot create", target) }
            }
            try LayerMerge.setOwnerAndMode(target, owner: 0, group: 0, mode: mode)
        }
        for (path, contents) in fixedFiles { try write(contents, to: root.path + "/" + path) }
        // systemd's "not yet initialised": a machine-id of its own is the running server's business.
        if FileManager.default.fileExists(atPath: root.path + "/etc/machine-id") { try write("", to: root.path + "/etc/machine-id") }
        for path in removedFiles { try FileTree.remove(root.path + "/" + path) }
        for path in emptiedDirectories { try removeFiles(below: root.path + "/" + path) }
        // Backups dpkg and debconf keep of their databases differ between runs.
        for directory in ["var/lib/dpkg", "var/cache/debconf"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path + "/" + directory)) ?? []
            for name in names where name.hasSuffix("-old") { try FileTree.remove(root.path + "/\(directory)/\(name)") }
        }
    }

    /// Refuses a base holding a device node, FIFO or socket before it becomes a layer. An
    /// image's merged root needs no such pass: its ``RootListing`` refuses them as it hashes.
    static func refuseSpecialFiles(in root: URL) throws {
        try FileTree.walk(root.path) { entry in
            if entry.kind == .characterDevice || entry.kind == .other { throw RootListing.specialFile(entry.relativePath) }
        }
    }

    private static func write(_ contents: String, to path: String) throws {
        try FileTree.remove(path)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw posixError("cannot create", path) }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        guard bytes.isEmpty || Glibc.write(descriptor, bytes, bytes.count) == bytes.count else { throw posixError("cannot write", path) }
        guard fchown(descriptor, 0, 0) == 0, fchmod(descriptor, 0o644) == 0 else { throw posixError("cannot chown", path) }
    }

    private static func removeContents(of directory: String) throws {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            try FileTree.remove(directory + "/" + name)
        }
    }

    private static func removeFiles(below directory: String) throws {
        var files: [String] = []
        guard FileManager.default.fileExists(atPath: directory) else { return }
        try FileTree.walk(directory) { entry in
            if entry.kind != .directory { files.append(entry.absolutePath) }
        }
        for file in files { try FileTree.remove(file) }
    }
}
