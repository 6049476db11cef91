import Foundation
import PyreAPI
import PyreCore
import PyreTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Whole-server images through the real CLI: a server whose root is its image and nothing
/// of the host's, verify over the whole root, and the refusal in process mode.
@Suite(.serialized, .enabled(if: getuid() == 0, "whole-server images need root"),
       .enabled(if: ExternalTool.path("nft") != nil, "namespace isolation needs nftables' nft"),
       .enabled(if: TinyRootfs.isAvailable, "needs busybox-static"))
struct WholeServerTests {
    /// A tiny busybox server that reports what it sees from inside, then serves it.
    static let probe = """
        mkdir -p /tmp/www && cp /app/index.html /tmp/www/
        {
          echo "os: $(cat /etc/os-release)"
          if [ -e "$MARKER" ]; then echo "marker: visible"; else echo "marker: hidden"; fi
          if [ -e /usr/bin/python3 ]; then echo "python3: host's"; else echo "python3: none"; fi
          if touch /written 2>/dev/null; then echo "root: writable"; else echo "root: read-only"; fi
          if touch /tmp/written; then echo "tmp: writable"; fi
          echo "uid: $(id -u)"
          echo "built: $(cat /app/built.txt)"
        } > /tmp/www/probe.txt 2>&1
        exec httpd -f -p 8080 -h /tmp/www
        """

    @Test func aServersRootIsItsImageAndVerifyCoversAllOfIt() async throws {
        let system = try TestSystem(name: "wholebb", service: "count: 2")
        defer { system.cleanUp() }
        try TinyRootfs.make(at: system.directory.appending(path: "base.tar"))
        try Self.probe.write(to: system.appDirectory.appending(path: "start.sh"), atomically: true, encoding: .utf8)
        try "ok".write(to: system.appDirectory.appending(path: "index.html"), atomically: true, encoding: .utf8)
        let marker = system.directory.appending(path: "host-marker")
        try "on the host".write(to: marker, atomically: true, encoding: .utf8)
        try """
            system: \(system.name)
            images:
              web:
                base: { rootfs: ./base.tar }
                context: ./app
                build: ["echo yes > /app/built.txt"]
                run: ["/bin/sh", "/app/start.sh"]
                user: app
            services:
              web:
                image: web
                count: 2
                port: 8080
                env: { MARKER: "\(marker.path)" }
                health: { http: /index.html, interval: 100ms, timeout: 1s, deadline: 10s }
                drain: 0s
            """.write(to: system.directory.appending(path: "pyre.yml"), atomically: true, encoding: .utf8)
        let layers = system.directory.appending(path: "layers")
        let agent = try AgentProcess(system, isolation: "namespaces", environment: ["PYRE_LAYER_CACHE": layers.path])
        defer { agent.terminate() }
        let fleet = try await agent.waitForHealthy(count: 2)

        for server in fleet {
            let result = try await runTool("/usr/bin/curl", ["--noproxy", "*", "-s", "--max-time", "3",
                                                             "http://\(server.address):\(server.port)/probe.txt"])
            let probe = result.output
            #expect(probe.contains("os: NAME=\"\(TinyRootfs.osName)\""), "the image's /etc/os-release: \(probe)")
            #expect(probe.contains("marker: hidden"), "a file on the host is out of reach: \(probe)")
            #expect(probe.contains("python3: none"), "nothing of the host's /usr: \(probe)")
            #expect(probe.contains("root: read-only"), "\(probe)")
            #expect(probe.contains("tmp: writable"), "\(probe)")
            #expect(probe.contains("uid: 1000"), "the image's own user app: \(probe)")
            #expect(probe.contains("built: yes"), "the build step ran into the image: \(probe)")
        }
        let status = try await pyre(["status", system.directory.path])
        #expect(!status.output.contains("host OS"), "\(status.output)")

        let clean = try await pyre(["verify", system.directory.path])
        #expect(clean.status == 0, "\(clean.output)")
        // Tamper with the image store behind Pyre's back: every server sees it.
        let image = try #require(try FileManager.default.contentsOfDirectory(atPath: system.state.images.path).first { !$0.hasPrefix(".") })
        let root = system.state.images.appending(path: "\(image)/root")
        try "tampered".write(to: root.appending(path: "app/index.html"), atomically: false, encoding: .utf8)
        let drifted = try await pyre(["verify", system.directory.path])
        #expect(drifted.status == 1, "\(drifted.output)")
        for server in fleet { #expect(drifted.output.contains("\(server.id): drifted"), "\(drifted.output)") }
        try await agent.stop()
    }

    @Test func processIsolationRefusesAWholeServerImageAtValidation() async throws {
        let system = try TestSystem(name: "wholeproc", service: "count: 1", image: "base: { rootfs: ./base.tar }")
        defer { system.cleanUp() }
        try TinyRootfs.make(at: system.directory.appending(path: "base.tar"))
        let up = try await runTool(pyreBinary.path, ["up", system.directory.path, "--isolation", "process"], includeErrors: true,
                                   environment: ["PYRE_LAYER_CACHE": system.directory.appending(path: "layers").path])
        #expect(up.status != 0)
        #expect(up.output.contains("pyre.yml:"), "names the file and line: \(up.output)")
        #expect(up.output.contains("whole-server image") && up.output.contains("--isolation namespaces"), "\(up.output)")
        #expect(!FileManager.default.fileExists(atPath: system.directory.appending(path: "layers").path), "nothing was baked")
    }
}
