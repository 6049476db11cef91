import Foundation
import PyreAPI
import PyreCore
import PyreImages
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
          echo "processes: $(ls -d /proc/[0-9]* | wc -l)"
          if ls /proc/1/root/usr >/dev/null 2>&1; then echo "escape: /proc/1/root/usr"; fi
          if mkdir /tmp/m && mount -t tmpfs none /tmp/m 2>/dev/null; then echo "escape: mount"; fi
          if cat /proc/1/environ >/dev/null 2>&1; then echo "escape: PID 1's environment"; fi
        } > /tmp/www/probe.txt 2>&1
        exec httpd -f -p 8080 -h /tmp/www
        """

    @Test func aServersRootIsItsImageAndVerifyCoversAllOfIt() async throws {
        let system = try TestSystem(name: "wholebox", service: "count: 2")
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
            #expect(!probe.contains("escape:"), "\(probe)")
            let processes = probe.split(separator: "\n").first { $0.hasPrefix("processes: ") }.flatMap { Int($0.dropFirst(11)) }
            #expect((processes ?? 99) <= 6, "only the server's own processes are in view: \(probe)")
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
        // Replacing bakes the image again from fresh layers: the new servers are clean.
        let replace = try await pyre(["verify", system.directory.path, "--replace"], environment: ["PYRE_LAYER_CACHE": layers.path])
        #expect(replace.status == 0, "\(replace.output)")
        let after = try await agent.waitForHealthy(count: 2, excluding: Set(fleet.map(\.id)))
        #expect(try await runTool("/usr/bin/curl", ["--noproxy", "*", "-s", "--max-time", "3",
                                                    "http://\(after[0].address):\(after[0].port)/index.html"]).output == "ok")
        let again = try await pyre(["verify", system.directory.path])
        #expect(again.status == 0, "\(again.output)")
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

/// One real Debian base, made with mmdebstrap from the machine's configured mirror (the
/// only test that fetches packages; its layers are cached for the rest of the run).
extension WholeServerTests {
    /// The layer cache of this test run: `scripts/test`'s (`$PYRE_LAYER_CACHE`, shared with
    /// its smoke test), else one directory per test process, so a Debian base is fetched
    /// once per run and never reused by the next.
    static let runLayerCache: URL = {
        if let path = ProcessInfo.processInfo.environment["PYRE_LAYER_CACHE"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let temporary = FileManager.default.temporaryDirectory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? [] where name.hasPrefix("pyre-test-layers-") {
            if let pid = Int32(name.dropFirst("pyre-test-layers-".count)), kill(pid, 0) != 0 {
                try? FileManager.default.removeItem(at: temporary.appending(path: name))
            }
        }
        return temporary.appending(path: "pyre-test-layers-\(getpid())")
    }()

    @Test(.enabled(if: ExternalTool.path("mmdebstrap") != nil, "needs mmdebstrap"))
    func aDebianBaseIsBakedLockedRunAndReproducible() async throws {
        let system = try TestSystem(name: "wholedeb", service: "count: 1", image: """
            base: { debian: bookworm, packages: [python3] }
                user: app
            """)
        defer { system.cleanUp() }
        let environment = ["PYRE_LAYER_CACHE": Self.runLayerCache.path]
        let bake = try await pyre(["bake", system.directory.path], environment: environment)
        #expect(bake.status == 0, "\(bake.output)")
        // Fetched now, or earlier in this run (the smoke test's base is the same layer).
        #expect(bake.output.contains("base debian bookworm + python3 (fetched from the Debian mirror once, then cached)")
                || bake.output.contains("base debian bookworm + python3: cached ("), "\(bake.output)")
        let lock = try PackageLock.load(from: system.directory.appending(path: "pyre.lock"))
        let locked = try #require(lock.images["web"])
        #expect(locked.installed.contains { $0.hasPrefix("python3=") } && locked.installed.contains { $0.hasPrefix("libc6=") })

        let agent = try AgentProcess(system, isolation: "namespaces", environment: environment)
        defer { agent.terminate() }
        let server = try #require(try await agent.waitForHealthy(count: 1).first)
        #expect(try await fetch(server) == "\(server.id) v1")
        // Look from inside the server: its mount namespace, as its user.
        let pid = try #require(processes(of: system, server: server.id).last)
        let marker = system.directory.appending(path: "host-marker")
        try "on the host".write(to: marker, atomically: true, encoding: .utf8)
        let inside = try await runTool("/usr/bin/nsenter", ["-t", "\(pid)", "-m", "-p", "-S", "1000", "-G", "1000", "/bin/sh", "-c", """
            grep PRETTY_NAME /etc/os-release
            test -e \(marker.path) && echo "marker: visible" || echo "marker: hidden"
            touch /written 2>/dev/null && echo "root: writable" || echo "root: read-only"
            touch /tmp/written && echo "tmp: writable"
            """], includeErrors: true)
        #expect(inside.output.contains("Debian GNU/Linux 12 (bookworm)"), "\(inside.output)")
        #expect(inside.output.contains("marker: hidden"), "\(inside.output)")
        #expect(inside.output.contains("root: read-only"), "\(inside.output)")
        #expect(inside.output.contains("tmp: writable"), "\(inside.output)")
        let clean = try await pyre(["verify", system.directory.path])
        #expect(clean.status == 0, "\(clean.output)")
        try await agent.stop()

        // Baked again from nothing, with the lock: the same root, path for path.
        let check = try await pyre(["bake", system.directory.path, "--check"], environment: environment)
        #expect(check.status == 0 && check.output.contains("reproducible: baked again from scratch"), "\(check.output)")

        // A lock pinning versions the mirror no longer has says what to do.
        var stale = lock
        stale.images["web"]!.installed = locked.installed.map { $0.hasPrefix("python3=") ? "python3=0.0-gone" : $0 }
        try stale.write(to: system.directory.appending(path: "pyre.lock"))
        let gone = try await pyre(["bake", system.directory.path], environment: environment)
        #expect(gone.status != 0)
        #expect(gone.output.contains("pyre.lock pins package versions the Debian mirror no longer has")
                && gone.output.contains("pyre bake --update"), "\(gone.output)")
    }
}
