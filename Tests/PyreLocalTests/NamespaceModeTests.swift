import Foundation
import Glibc
import Logging
import PyreCore
import PyrePOSIX
import Testing
@testable import PyreLocal

/// Each test uses its own system (bridge) and subnet, apart from a running agent's default.
@Suite("Local provider, namespace mode", .serialized, .enabled(if: getuid() == 0, "namespace isolation needs root"),
       .enabled(if: ExecutableLookup.find("nft") != nil, "namespace isolation needs nftables' nft"))
struct NamespaceModeTests {
    @Test func serverIsReachableFromTheHostAtItsAddress() async throws {
        try await TestSupport.withProvider(isolation: .namespaces, system: "plt-ns-http", subnet: "10.213.252.0/24") { provider, root in
            let image = try TestSupport.makeImage(in: root)
            let command = ["/bin/sh", "-c", "exec \(TestSupport.python) -m http.server --bind \"$PYRE_ADDRESS\" \"$PORT\""]
            let info = try await provider.create(TestSupport.spec(ServerID("web-1-aaaa"), system: "plt-ns-http", image: image,
                                                                 command: command, port: 8125))
            #expect(info.address == "10.213.252.2")
            let reached = try await TestSupport.waitUntil { HTTPProbe.get(info.address, port: 8125) != nil }
            #expect(reached)
            let response = HTTPProbe.get(info.address, port: 8125, path: "/app.txt")
            #expect(response?.hasPrefix("HTTP/1.0 200") == true)
            #expect(response?.contains("hello from the image") == true)
        }
    }

    @Test func serverIsSandboxed() async throws {
        try await TestSupport.withProvider(isolation: .namespaces, system: "plt-ns-box", subnet: "10.213.253.0/24") { provider, root in
            let image = try TestSupport.makeImage(in: root)
            let id = ServerID("web-2-bbbb")
            let probe = "/var/lib/pyre-local-tests-probe-\(id)"
            defer { unlink(probe) }
            let script = """
                echo "hostname=$(cat /proc/sys/kernel/hostname)"
                echo "cwd=$(pwd)"
                cat app.txt
                touch /tmp/probe && echo tmp=writable
                touch ./probe 2>/dev/null && echo image=writable || echo image=readonly
                touch \(probe) 2>/dev/null && echo host=writable || echo host=readonly
                grep -q pyre-init /proc/1/cmdline && echo init=pyre-init
                echo "hosts=$(grep -c "^$(ip -4 -o addr show dev eth0 | sed 's/.*inet \\([0-9.]*\\).*/\\1/')[[:space:]]*$PYRE_SERVER$" /etc/hosts)"
                echo "resolv=$(cat /etc/resolv.conf)"
                echo "address=$PYRE_ADDRESS"
                echo ready
                exec sleep 600
                """
            let info = try await provider.create(TestSupport.spec(id, system: "plt-ns-box", image: image,
                                                                 command: ["/bin/sh", "-c", script]))
            let output = try await TestSupport.waitForLine("ready", of: id, in: provider)
            #expect(output.contains("hostname=\(id)"))
            #expect(output.contains("cwd=\(image.path)"))
            #expect(info.imageView == image)
            #expect(output.contains("hello from the image"))
            #expect(output.contains("tmp=writable"))
            #expect(output.contains("image=readonly"))
            #expect(output.contains("host=readonly"))
            #expect(output.contains("init=pyre-init"))
            #expect(output.contains("hosts=1"))
            #expect(output.contains("resolv=nameserver 10.213.253.1"))
            #expect(output.contains("address=0.0.0.0"))
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("image/probe").path))
        }
    }

    @Test func destroyAndTeardownLeaveNothing() async throws {
        let system = "plt-ns-clean"
        let subnet = "10.213.254.0/24"
        try await TestSupport.withProvider(isolation: .namespaces, system: system, subnet: subnet) { provider, root in
            let image = try TestSupport.makeImage(in: root)
            let id = ServerID("web-3-cccc")
            try await provider.prepare()
            #expect(try ip("route", "show", "type", "unreachable").contains("\(subnet) metric \(NamespaceNetwork.guardRouteMetric)"))
            let bridge = try NamespaceNetwork(system: system, subnet: IPv4Subnet(subnet), logger: Logger(label: "test")).bridgeName
            #expect(try ip("route", "get", "10.213.254.77").contains("dev \(bridge)"))

            _ = try await provider.create(TestSupport.spec(id, system: system, image: image, command: TestSupport.sleeper))
            _ = try await TestSupport.waitForLine("started", of: id, in: provider)
            let pid = try #require(TestSupport.leaderPID(of: id, in: provider))
            let network = try NamespaceNetwork(system: system, subnet: IPv4Subnet(subnet), logger: TestSupport.logger)
            let namespace = network.namespaceName(for: id)
            let veth = network.hostInterfaceName(for: id)
            #expect(FileManager.default.fileExists(atPath: "/run/netns/\(namespace)"))
            #expect(network.linkExists(veth))
            #expect(TestSupport.processes(ofSession: pid).count >= 2)

            try await provider.destroy(id)
            #expect(TestSupport.processes(ofSession: pid).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: "/run/netns/\(namespace)"))
            #expect(!network.linkExists(veth))
            #expect(!FileManager.default.fileExists(atPath: "/etc/netns/\(namespace)"))
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("servers/\(id)").path))

            // The network rule: without the bridge, the subnet is unreachable, never routed to the default gateway.
            _ = try ip("link", "del", network.bridgeName)
            let withoutBridge = try ProcessSpawner.run([try #require(ExecutableLookup.find("ip")), "route", "get", "10.213.254.77"])
            #expect(withoutBridge.status != 0)
            #expect(withoutBridge.output.contains("No route to host"))

            try await provider.teardown()
            try await provider.teardown()
            #expect(!network.linkExists(network.bridgeName))
            #expect(try !ip("route", "show", "table", "all").contains("10.213.254."))
        }
    }

    @Test func killedServerReportsExited() async throws {
        try await TestSupport.withProvider(isolation: .namespaces, system: "plt-ns-kill", subnet: "10.213.249.0/24") { provider, root in
            let image = try TestSupport.makeImage(in: root)
            let id = ServerID("web-1-dddd")
            _ = try await provider.create(TestSupport.spec(id, system: "plt-ns-kill", image: image, command: TestSupport.sleeper))
            _ = try await TestSupport.waitForLine("started", of: id, in: provider)
            let pid = try #require(TestSupport.leaderPID(of: id, in: provider))
            let sleeper = try #require(TestSupport.processes(ofSession: pid).first { commandName(of: $0.pid) == "sleep" })
            #expect(kill(sleeper.pid, SIGKILL) == 0)
            let exited = try await TestSupport.waitUntil { try await provider.inspect(id)?.state != .running }
            #expect(exited)
            #expect(try await provider.inspect(id)?.state == .exited(status: 128 + SIGKILL))
        }
    }

    private func ip(_ arguments: String...) throws -> String {
        try ProcessSpawner.run([try #require(ExecutableLookup.find("ip"))] + arguments).output
    }

    private func commandName(of pid: pid_t) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
