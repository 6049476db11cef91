import Foundation
import Glibc
import Logging
import PyreCore
import PyreImages
@testable import PyreLocal

/// Images, specs and providers for the local provider's tests; everything lives in fresh
/// temporary directories and is removed afterwards, also when a test fails.
enum TestSupport {
    /// The system Python, which starts faster than a version manager's shim.
    static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

    static let logger = Logger(label: "pyre.local.tests")

    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("pyre-local-tests-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A read-only image directory (files 0444, directories 0555) holding `files`.
    static func makeImage(in parent: URL, files: [String: String] = ["app.txt": "hello from the image\n"]) throws -> URL {
        let image = parent.appendingPathComponent("image")
        try FileManager.default.createDirectory(at: image, withIntermediateDirectories: true)
        for (name, contents) in files {
            let file = image.appendingPathComponent(name)
            try contents.write(to: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: file.path)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: image.path)
        return image
    }

    static func spec(_ id: ServerID, system: String, image: URL, command: [String], port: Int = 8080,
                     env: [String: String] = [:], user: String? = nil) -> ServerSpec {
        ServerSpec(id: id, system: system, service: String(id.rawValue.split(separator: "-").first ?? "web"),
                   generation: Int(id.rawValue.split(separator: "-").dropFirst().first ?? "1") ?? 1,
                   image: ImageDigest("sha256:" + String(repeating: "ab", count: 32)), imageLocation: .directory(image),
                   command: command, env: env, port: port, configHash: "0123456789abcdef", zone: "\(system).pyre.",
                   user: user)
    }

    /// A command that keeps running until it is stopped.
    static let sleeper = ["/bin/sh", "-c", "echo started; exec sleep 600"]

    /// Runs `body` with a local provider over a fresh servers directory; afterwards destroys
    /// every server it lists, tears its network down and removes the directories.
    static func withProvider(isolation: IsolationMode, system: String, subnet: String = "10.213.250.0/24",
                             loopbackPrefix: String = "127.213",
                             configure: (inout LocalProviderConfiguration) -> Void = { _ in },
                             _ body: (LocalProvider, URL) async throws -> Void) async throws {
        let root = try temporaryDirectory(system)
        let provider = try makeProvider(isolation: isolation, system: system, root: root, subnet: subnet,
                                        loopbackPrefix: loopbackPrefix, configure: configure)
        do {
            try await body(provider, root)
        } catch {
            await cleanUp(provider, root: root)
            throw error
        }
        await cleanUp(provider, root: root)
    }

    static func makeProvider(isolation: IsolationMode, system: String, root: URL, subnet: String,
                             loopbackPrefix: String,
                             configure: (inout LocalProviderConfiguration) -> Void = { _ in }) throws -> LocalProvider {
        var configuration = LocalProviderConfiguration(system: system,
                                                       serversDirectory: root.appendingPathComponent("servers"),
                                                       isolation: isolation)
        configuration.subnet = subnet
        configuration.loopbackPrefix = loopbackPrefix
        configure(&configuration)
        return try LocalProvider(configuration: configuration, logger: logger)
    }

    private static func cleanUp(_ provider: LocalProvider, root: URL) async {
        for server in (try? await provider.list()) ?? [] { try? await provider.destroy(server.id) }
        try? await provider.teardown()
        try? FileTree.remove(root.path)
    }

    /// The pid the provider recorded for the server: its session and process group id.
    static func leaderPID(of id: ServerID, in provider: LocalProvider) -> pid_t? {
        ServerRecord.load(from: provider.configuration.serversDirectory.appendingPathComponent(id.rawValue))?.pid
    }

    /// Every process, zombies included, in the session or process group `id`.
    static func processes(ofSession id: pid_t) -> [ProcessStatus] {
        ProcessTable.all().filter { $0.session == id || $0.group == id }
    }

    /// Polls `condition` (readiness of a starting server, not a timing assertion) for up to 30 s.
    static func waitUntil(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<600 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Polls the server's output until a line equals `line`.
    static func waitForLine(_ line: String, of id: ServerID, in provider: LocalProvider) async throws -> [String] {
        var output: [String] = []
        _ = try await waitUntil {
            output = await provider.recentOutput(of: id, lines: 1000)
            return output.contains(line)
        }
        return output
    }
}
