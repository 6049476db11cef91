import Foundation
import PyreAPI
import PyreAgent
import PyreCore
import PyreLocal
import PyreTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Namespace mode through the real CLI: what servers reach on the host, and a failed start
/// that must leave nothing of the system's network behind.
@Suite(.serialized, .enabled(if: getuid() == 0, "namespace isolation needs root"),
       .enabled(if: ExternalTool.path("nft") != nil, "namespace isolation needs nftables' nft"))
struct ContainmentTests {
    @Test func serversReachOnlyTheAgentsServicesOnTheHost() async throws {
        let host = try TCPListener(host: "0.0.0.0")
        defer { withExtendedLifetime(host) {} }
        let system = try TestSystem(name: "itsecreach", service: "count: 1")
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: "namespaces")
        defer { agent.terminate() }
        let server = try #require(try await agent.waitForHealthy(count: 1).first)
        let endpoint = try AgentEndpoint.read(from: system.state.agentFile)
        let events = try #require(endpoint.events.flatMap(URL.init(string:)))
        let systemAddress = try #require(events.host)
        let relpPort = try #require(endpoint.relp?.split(separator: ":").last.flatMap { Int($0) })
        let probe = """
            import socket, struct, urllib.error, urllib.request
            query = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0)
            query += b"".join(bytes([len(label)]) + label.encode() for label in "web.\(system.name).pyre".split("."))
            query += b"\\0" + struct.pack("!HH", 1, 1)
            dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            dns.settimeout(3)
            dns.sendto(query, ("\(systemAddress)", 53))
            print("dns answers", struct.unpack("!H", dns.recv(512)[6:8])[0])
            try:
                urllib.request.urlopen("\(events.absoluteString)/all", timeout=3)
            except urllib.error.HTTPError as error:
                print("events status", error.code)
            socket.create_connection(("\(systemAddress)", \(relpPort)), timeout=3).close()
            print("relp open")
            try:
                socket.create_connection(("\(systemAddress)", \(host.port)), timeout=3).close()
                print("host port open")
            except OSError as error:
                print("host port unreachable:", error)
            """
        // In the server's network namespace, as root: the host's rules, not the server's lack of
        // privileges, decide what it reaches.
        let ip = try #require(ExternalTool.path("ip"))
        let result = try await runTool(ip, ["netns", "exec", "pyre-\(system.name)-\(server.id)", "/usr/bin/python3", "-c", probe],
                                       includeErrors: true)
        #expect(result.output.contains("dns answers 1"), "DNS works from servers: \(result.output)")
        #expect(result.output.contains("events status 401"), "the events API answers servers: \(result.output)")
        #expect(result.output.contains("relp open"), "the RELP receiver answers servers: \(result.output)")
        #expect(result.output.contains("host port unreachable"), "\(result.output)")
        try await agent.stop()
    }

    @Test func failedUpLeavesNoNetworkBehind() async throws {
        let taken = try TCPListener(host: "127.0.0.1")
        defer { withExtendedLifetime(taken) {} }
        let system = try TestSystem(name: "itsecfail", service: "count: 1", extra: """
            entrypoints:
              public: { listen: "127.0.0.1:\(taken.port)", service: web }
            """)
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: "namespaces")
        defer { agent.terminate() }
        let deadline = ContinuousClock.now + .seconds(60)
        while agent.process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!agent.process.isRunning, "pyre up must fail when the entry point's port is taken")
        #expect(agent.process.terminationStatus != 0, "\(agent.output)")
        #expect(agent.output.contains("entrypoint public"), "\(agent.output)")

        #expect(try await agent.networkPiecesLeft().isEmpty)
        let ip = try #require(ExternalTool.path("ip"))
        let subnet = LocalProviderConfiguration.defaultSubnet(for: system.name)
        let routes = try await runTool(ip, ["route", "show", "table", "all", "type", "unreachable"]).output
        #expect(!routes.contains(subnet), "the guard route remains: \(routes)")
        let tables = try await runTool(try #require(ExternalTool.path("nft")), ["list", "tables"]).output
        #expect(!tables.contains("pyre-\(system.name)"), "nftables tables remain: \(tables)")
    }
}
