import Foundation
@testable import PyreImages
import PyreCore
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under the system's temporary directory, removed (read-only parts
/// included) after `body`.
func withTemporaryDirectory<Result>(_ body: (URL) async throws -> Result) async throws -> Result {
    let directory = FileManager.default.temporaryDirectory
        .appending(path: "pyre-images-tests-\(UUID().uuidString)", directoryHint: .isDirectory)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileTree.remove(directory.path) }
    return try await body(directory)
}

/// Writes `text` to `relativePath` below `directory`, creating parent directories.
func write(_ text: String, to relativePath: String, in directory: URL, mode: mode_t = 0o644) throws {
    let url = directory.appending(path: relativePath)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
    #expect(chmod(url.path, mode) == 0)
}

/// A small context: a script, a nested file and a symlink.
func makeContext(in directory: URL) throws -> URL {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try write("#!/bin/sh\necho hello\n", to: "app.sh", in: directory, mode: 0o755)
    try write("nested\n", to: "lib/data.txt", in: directory)
    try FileManager.default.createSymbolicLink(atPath: directory.appending(path: "link").path, withDestinationPath: "lib/data.txt")
    return directory
}

func recipe(context: URL, build: [String] = ["true"], run: [String] = ["./app.sh"],
            env: [String: String] = ["GREETING": "hello"], buildTimeout: Duration = .seconds(60)) -> ImageRecipe {
    ImageRecipe(name: "web", context: context, build: build, run: run, env: env, buildTimeout: buildTimeout)
}

/// Permission bits of `url`, without following a symlink.
func mode(of url: URL) -> mode_t {
    var info = stat()
    #expect(lstat(url.path, &info) == 0)
    return info.st_mode & 0o7777
}

/// Collects progress reports from any thread.
final class ProgressLog: Sendable {
    private let events = Mutex<[BakeProgress]>([])

    var all: [BakeProgress] { events.withLock { $0 } }

    func record(_ progress: BakeProgress) {
        events.withLock { $0.append(progress) }
    }

    var outputLines: [String] {
        all.compactMap { if case .output(_, let line) = $0 { line } else { nil } }
    }

    var wasCached: Bool {
        all.contains { if case .cached = $0 { true } else { false } }
    }
}

/// Whether `pid` is a running (not zombie) process.
func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let afterName = stat.range(of: ") ") else { return false }
    return stat[afterName.upperBound...].first != "Z"
}
