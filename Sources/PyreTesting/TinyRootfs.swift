import Foundation
import PyreCore

/// A root filesystem tar for whole-server image tests that bake in a fraction of a second:
/// Debian's static busybox with links for the commands tests use, an /etc/passwd and
/// /etc/group with root and nobody, and an /etc/os-release naming it.
public enum TinyRootfs {
    public static let osName = "Pyre tiny rootfs"

    /// Whether this machine can make one (busybox-static installed).
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: busybox) }

    /// Writes the tar at `archive`, built in a scratch directory beside it.
    public static func make(at archive: URL) throws {
        let tree = archive.deletingLastPathComponent().appending(path: ".tiny-rootfs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tree) }
        let manager = FileManager.default
        for directory in ["bin", "etc", "root"] {
            try manager.createDirectory(at: tree.appending(path: directory), withIntermediateDirectories: true)
        }
        try manager.copyItem(atPath: busybox, toPath: tree.appending(path: "bin/busybox").path)
        for command in commands {
            try manager.createSymbolicLink(atPath: tree.appending(path: "bin/\(command)").path, withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
            .write(to: tree.appending(path: "etc/passwd"), atomically: false, encoding: .utf8)
        try "root:x:0:\nnogroup:x:65534:\n".write(to: tree.appending(path: "etc/group"), atomically: false, encoding: .utf8)
        try "NAME=\"\(osName)\"\n".write(to: tree.appending(path: "etc/os-release"), atomically: false, encoding: .utf8)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["--create", "--file", archive.path, "--numeric-owner", "--owner=0", "--group=0", "--directory", tree.path, "."]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw PyreError(.bake, "tar could not make \(archive.path)") }
    }

    static let busybox = "/usr/bin/busybox"
    static let commands = ["sh", "ls", "cat", "echo", "id", "mkdir", "rm", "touch", "sleep", "httpd", "cp", "test", "[",
                           "mknod", "grep", "wc", "chmod", "stat", "head", "mount"]
}
