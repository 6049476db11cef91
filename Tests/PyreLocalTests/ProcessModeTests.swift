import Foundation
import Glibc
import PyreCore
import PyreImages
import Testing
@testable import PyreLocal

@Suite("Local provider, process mode")
struct ProcessModeTests {
    @Test func serverGetsThePyreEnvironment() async throws {
        try await TestSupport.withProvider(isolation: .process, system: "plt-env", loopbackPrefix: "127.232") { provider, root in
            let image = try TestSupport.makeImage(in: root)
            let id = ServerID("web-7-0a1b")
            let info = try await provider.create(TestSupport.spec(
                id, system: "plt-env", image: image, command: ["/bin/sh", "-c", "env; echo ready; exec sleep 600"],
                port: 8123, env: ["GREETING": "hello"]))
            let output = try await TestSupport.waitForLine("ready", of: id, in: provider)
            #expect(info.address.hasPrefix("127.232."))
            for expected in ["PORT=8123", "PYRE_SERVER=web-7-0a1b", "PYRE_GENERATION=7", "PYRE_SERVICE=web",
                             "PYRE_SYSTEM=plt-env", "PYRE_ZONE=plt-env.pyre.", "PYRE_ADDRESS=\(info.address)",
                             "GREETING=hello"] {
                #expect(output.contains(expected), "missing \(expected) in \(output)")
            }
            #expect(output.contains { $0.hasPrefix("PATH=") })
        }
    }

    @Test func outputLogKeepsStdoutAndStderr() async throws {
        try await TestSupport.withProvider(isolation: .process, system: "plt-out", loopbackPrefix: "127.233") { provider, root in
            let image = try TestSupport.makeImage(in: root)
            let id = ServerID("web-1-0c0d")
            let script = "echo to-stdout; echo to-stderr >&2; i=1; while [ $i -le 50 ]; do echo line-$i; i=$((i+1)); done; echo ready; exec sleep 600"
            _ = try await provider.create(TestSupport.spec(id, system: "plt-out", image: image, command: ["/bin/sh", "-c", script]))
            _ = try await TestSupport.waitForLine("ready", of: id, in: provider)
            let stdout = try String(contentsOf: root.appendingPathComponent("servers/\(id)/stdout.log"), encoding: .utf8)
            let stderr = try String(contentsOf: root.appendingPathComponent("servers/\(id)/stderr.log"), encoding: .utf8)
            #expect(stdout.hasPrefix("to-stdout\nline-1\n"))
            #expect(stderr == "to-stderr\n")
            // Standard error comes last: that is where a failing server says why.
            #expect(await provider.recentOutput(of: id, lines: 3) == ["line-50", "ready", "to-stderr"])
            #expect(await provider.recentOutput(of: ServerID("web-1-ffff"), lines: 3) == [])
        }
    }

    @Test func serverRunsInAWritableScratchCopyOfTheImage() async throws {
        try await TestSupport.withProvider(isolation: .process, system: "plt-copy", loopbackPrefix: "127.234") { provider, root in
            let image = try TestSupport.makeImage(in: root)
            let id = ServerID("web-1-0e0f")
            let script = "cat app.txt; echo scratch > new.txt && echo wrote; echo \"cwd=$(pwd)\"; echo ready; exec sleep 600"
            let info = try await provider.create(TestSupport.spec(id, system: "plt-copy", image: image, command: ["/bin/sh", "-c", script]))
            let output = try await TestSupport.waitForLine("ready", of: id, in: provider)
            #expect(output.contains("hello from the image"))
            #expect(output.contains("wrote"))
            #expect(output.contains("cwd=\(info.imageView?.path ?? "?")"))
            #expect(info.imageView != image)
            #expect(!FileManager.default.fileExists(atPath: image.appendingPathComponent("new.txt").path))
        }
    }

    @Test func serverIsReachableOnItsOwnLoopbackAddress() async throws {
        try await TestSupport.withProvider(isolation: .process, system: "plt-http", loopbackPrefix: "127.235") { provider, root in
            let image = try TestSupport.makeImage(in: root)
            let command = [TestSupport.python, "-m", "http.server", "--bind", "127.235.0.2", "8124"]
            let first = try await provider.create(TestSupport.spec(ServerID("web-1-1111"), system: "plt-http", image: image,
                                                                  command: command, port: 8124))
            let second = try await provider.create(TestSupport.spec(ServerID("web-1-2222"), system: "plt-http", image: image,
                                                                   command: TestSupport.sleeper))
            #expect(first.address == "127.235.0.2")
            #expect(second.address == "127.235.0.3")
            let reached = try await TestSupport.waitUntil { HTTPProbe.get(first.address, port: 8124) != nil }
            #expect(reached)
            let response = HTTPProbe.get(first.address, port: 8124, path: "/app.txt")
            #expect(response?.hasPrefix("HTTP/1.0 200") == true)
            #expect(response?.contains("hello from the image") == true)
        }
    }

    @Test func killedServerReportsExited() async throws {
        try await TestSupport.withProvider(isolation: .process, system: "plt-kill", loopbackPrefix: "127.236") { provider, root in
            let image = try TestSupport.makeImage(in: root)
            let id = ServerID("web-1-3333")
            _ = try await provider.create(TestSupport.spec(id, system: "plt-kill", image: image, command: TestSupport.sleeper))
            _ = try await TestSupport.waitForLine("started", of: id, in: provider)
            #expect(try await provider.inspect(id)?.state == .running)
            let pid = try #require(TestSupport.leaderPID(of: id, in: provider))
            #expect(kill(pid, SIGKILL) == 0)
            let exited = try await TestSupport.waitUntil { try await provider.inspect(id)?.state != .running }
            #expect(exited)
            #expect(try await provider.inspect(id)?.state == .exited(status: 128 + SIGKILL))
            #expect(try await provider.list().first { $0.id == id }?.state == .exited(status: 128 + SIGKILL))

            // A restarted agent's provider cannot know the status, only that the process is gone.
            let restarted = try TestSupport.makeProvider(isolation: .process, system: "plt-kill", root: root,
                                                         subnet: "10.213.250.0/24", loopbackPrefix: "127.236")
            #expect(try await restarted.inspect(id)?.state == .exited(status: -1))
        }
    }

    @Test func destroyEndsEveryProcessEvenOnesIgnoringSIGTERM() async throws {
        let root = try TestSupport.temporaryDirectory("plt-stubborn")
        defer { try? FileTree.remove(root.path) }
        var configuration = LocalProviderConfiguration(system: "plt-stubborn", serversDirectory: root.appendingPathComponent("servers"),
                                                       isolation: .process)
        configuration.loopbackPrefix = "127.237"
        configuration.stopGracePeriod = .milliseconds(300)
        let provider = try LocalProvider(configuration: configuration, logger: TestSupport.logger)
        let image = try TestSupport.makeImage(in: root)
        let id = ServerID("web-1-4444")
        let script = "trap '' TERM; (trap '' TERM; sleep 600; true) & sleep 600 & echo ready; wait"
        do {
            _ = try await provider.create(TestSupport.spec(id, system: "plt-stubborn", image: image, command: ["/bin/sh", "-c", script]))
            _ = try await TestSupport.waitForLine("ready", of: id, in: provider)
            let pid = try #require(TestSupport.leaderPID(of: id, in: provider))
            #expect(TestSupport.processes(ofSession: pid).count >= 3)
            try await provider.destroy(id)
            #expect(TestSupport.processes(ofSession: pid).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: configuration.serversDirectory.appendingPathComponent(id.rawValue).path))
            #expect(try await provider.inspect(id) == nil)
        } catch {
            try? await provider.destroy(id)
            throw error
        }
    }

    @Test func failedCreateLeavesNothingBehind() async throws {
        try await TestSupport.withProvider(isolation: .process, system: "plt-fail", loopbackPrefix: "127.238") { provider, root in
            let image = try TestSupport.makeImage(in: root)
            let id = ServerID("web-1-5555")
            await #expect(throws: PyreError.self) {
                try await provider.create(TestSupport.spec(id, system: "plt-fail", image: image, command: ["/nonexistent/pyre-server"]))
            }
            await #expect(throws: PyreError.self) {
                try await provider.create(TestSupport.spec(ServerID("web-1-6666"), system: "plt-fail",
                                                           image: root.appendingPathComponent("missing"), command: TestSupport.sleeper))
            }
            await #expect(throws: PyreError.self) {
                try await provider.create(TestSupport.spec(ServerID("web-1-7777"), system: "another", image: image,
                                                           command: TestSupport.sleeper))
            }
            #expect(try await provider.list().isEmpty)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("servers").path)
            #expect(leftovers.isEmpty)
        }
    }
}
