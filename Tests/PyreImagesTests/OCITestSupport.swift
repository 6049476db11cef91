import Crypto
import Foundation
@testable import PyreImages
import PyreCore
import PyreTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runs a tool to completion; its status and its output (stdout and stderr together).
@discardableResult
func runTool(_ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs a tool that must succeed; its output.
@discardableResult
func run(_ arguments: [String], in directory: URL? = nil) throws -> String {
    let (status, output) = try runTool(arguments, in: directory)
    guard status == 0 else { throw PyreError(.bake, "\(arguments.joined(separator: " ")) failed (\(status)): \(output)") }
    return output
}

func toolExists(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }

/// Makes a directory tree from `entries` below `root`: a path ending in `/` is a directory,
/// `-> TARGET` a symlink, anything else a file with that text.
func makeTree(_ root: URL, _ entries: [(String, String)]) throws {
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    for (path, contents) in entries {
        let url = root.appending(path: path)
        if path.hasSuffix("/") {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } else if contents.hasPrefix("-> ") {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: String(contents.dropFirst(3)))
        } else {
            try write(contents, to: path, in: root)
        }
    }
}

/// Writes an OCI image layout at `layout` whose image (named `latest`) has the given layer
/// tars, bottom first, as they are (compressed or not).
func writeLayout(_ layout: URL, layers: [URL]) throws {
    let blobs = layout.appending(path: "blobs/sha256")
    try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
    func store(_ data: Data) throws -> (String, Int) {
        let hex = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        try data.write(to: blobs.appending(path: hex))
        return ("sha256:" + hex, data.count)
    }
    var descriptors: [[String: Any]] = []
    for layer in layers {
        let (digest, size) = try store(try Data(contentsOf: layer))
        let type = layer.pathExtension == "gz" ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar"
        descriptors.append(["mediaType": type, "digest": digest, "size": size])
    }
    let config: [String: Any] = ["architecture": "amd64", "os": "linux", "config": [:] as [String: Any],
                                 "rootfs": ["type": "layers", "diff_ids": descriptors.map { $0["digest"]! }]]
    let (configDigest, configSize) = try store(try JSONSerialization.data(withJSONObject: config))
    let manifest: [String: Any] = [
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest, "size": configSize],
        "layers": descriptors,
    ]
    let (manifestDigest, manifestSize) = try store(try JSONSerialization.data(withJSONObject: manifest))
    let index: [String: Any] = ["schemaVersion": 2, "manifests": [[
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifestDigest, "size": manifestSize,
        "annotations": ["org.opencontainers.image.ref.name": "latest"],
    ]]]
    try JSONSerialization.data(withJSONObject: index).write(to: layout.appending(path: "index.json"))
    try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: layout.appending(path: "oci-layout"))
}

/// A tar of `members` (paths relative to `directory`, as tar is to name them), without
/// recursing: a member's parent directory is in the tar only when listed.
func makeTar(_ archive: URL, of directory: URL, members: [String], gzip: Bool = false) throws {
    try run(["tar", "--create", "--file", archive.path, "--numeric-owner", "--no-recursion", "--directory", directory.path]
            + (gzip ? ["--gzip"] : []) + members)
}

/// An importer as a bake runs it.
func importer() -> OCIImport {
    OCIImport(image: "web", maker: BaseMaker(image: "web", progress: { _ in }, timeout: .seconds(60)))
}

/// A system directory with a tiny busybox base (with a few entries that test a tar writer:
/// a hard link, a long path, a setuid file, an owner with no name, a non-ASCII name), an
/// app, and stores of its own.
struct WholeServerFixture {
    let directory: URL
    var app: URL { directory.appending(path: "app") }
    var base: URL { directory.appending(path: "base.tar") }
    var images: ImageStore { ImageStore(root: directory.appending(path: "state/images")) }
    var layers: LayerStore { LayerStore(root: directory.appending(path: "layers")) }
    var baker: ImageBaker { ImageBaker(store: images, layers: layers) }

    static let longPath = "usr/share/" + String(repeating: "a-long-directory-name/", count: 6) + "and-a-file-at-the-end.txt"

    init(_ directory: URL) throws {
        self.directory = directory
        let tiny = directory.appending(path: "tiny.tar"), tree = directory.appending(path: "base-tree")
        try TinyRootfs.make(at: tiny)
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try run(["tar", "--extract", "--file", tiny.path, "--directory", tree.path, "--numeric-owner", "--same-owner",
                 "--same-permissions"])
        try makeTree(tree, [(Self.longPath, "deep\n"), ("usr/lib/data/caf\u{e9}.txt", "accented\n"),
                            ("usr/lib/owned", "owned by 1234:5678\n"), ("usr/bin/suid", "#!/bin/sh\n"),
                            ("usr/lib/link-with-a-long-target", "-> /" + Self.longPath)])
        #expect(link(tree.appending(path: "bin/busybox").path, tree.appending(path: "usr/bin/busybox-again").path) == 0)
        #expect(chown(tree.appending(path: "usr/lib/owned").path, 1234, 5678) == 0)
        #expect(chmod(tree.appending(path: "usr/bin/suid").path, 0o4755) == 0)
        try run(["tar", "--create", "--file", base.path, "--numeric-owner", "--directory", tree.path, "."])
        try FileTree.remove(tree.path)
        try write("hello\n", to: "app/index.html", in: directory)
        try write("#!/bin/sh\necho hi\n", to: "app/bin/start", in: directory, mode: 0o755)
    }

    func recipe(name: String = "web", base: ImageBase? = nil) -> ImageRecipe {
        ImageRecipe(name: name, context: app, run: ["httpd", "-f", "-p", "8080"], env: ["GREETING": "hello world"],
                    user: "app", base: base ?? .rootfs(self.base), workdir: "/srv/app")
    }
}

/// Inode number of `url`, not following a symlink.
func inode(of url: URL) -> ino_t {
    var info = stat()
    return lstat(url.path, &info) == 0 ? info.st_ino : 0
}
