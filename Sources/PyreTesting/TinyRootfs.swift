import Foundation
import PyreCore

/// A root filesystem tar for whole-server image tests that bake in a fraction of a second:
/// Debian's static busybox with links for the commands tests use, an /etc/passwd and
/// /etc/group with root and nobody, and an /etc/os-release naming it.
public enum TinyRootfs {
    public static let osName = "Pyre tiny rootfs"

    /// Whether this machine can make one (busybox-static installed).
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: busybox) }

    /// Writes the tar at `archive`, built in a scratch directory beside it. `bootable` adds what
    /// a disk for EC2 needs (``bootFiles``): stand-ins of random bytes, not a kernel that runs,
    /// for tests of a disk's layout.
    public static func make(at archive: URL, bootable: Bool = false) throws {
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
        if bootable {
            for (path, size) in bootFiles {
                let file = tree.appending(path: path)
                try manager.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                var generator = SystemRandomNumberGenerator()
                try Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: file)
            }
            try manager.createDirectory(at: tree.appending(path: "sbin"), withIntermediateDirectories: true)
            try manager.createSymbolicLink(atPath: tree.appending(path: "sbin/init").path, withDestinationPath: "/bin/busybox")
        }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["--create", "--file", archive.path, "--numeric-owner", "--owner=0", "--group=0", "--directory", tree.path, "."]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw PyreError(.bake, "tar could not make \(archive.path)") }
    }

    /// Paths and sizes of the stand-ins of a bootable root.
    public static let bootFiles = [("boot/vmlinuz-6.1.0-27-cloud-amd64", 3 << 20), ("boot/initrd.img-6.1.0-27-cloud-amd64", 2 << 20),
                                   ("usr/lib/systemd/boot/efi/systemd-bootx64.efi", 90 << 10), ("usr/bin/cloud-init", 1 << 10)]

    static let busybox = "/usr/bin/busybox"
    static let commands = ["sh", "ls", "cat", "echo", "id", "mkdir", "rm", "touch", "sleep", "httpd", "cp", "test", "[",
                           "mknod", "grep", "wc", "chmod", "stat", "head", "mount"]
}
