import Foundation
import PyreAPI
import PyreAgent
import PyreTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The identity layer end to end: DNS answers real clients, and deploys behind an entry
/// point or behind DNS names drop no request.
extension DeployTests {
    @Test(arguments: isolationModes)
    func deploysDropNoRequest(isolation: String) async throws {
        let entryPort = try freeLoopbackPort(), dnsPort = try freeLoopbackPort()
        let system = try TestSystem(name: "zero\(isolation.prefix(2))", service: "count: 3\ndrain: 1s", extra: """
            entrypoints:
              public: { listen: "127.0.0.1:\(entryPort)", service: web }
            dns:
              listen: "127.0.0.1:\(dnsPort)"
              ttl: 1s
              records:
                - { name: db, type: A, value: 192.0.2.10 }
            """)
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: isolation)
        defer { agent.terminate() }
        let fleet = try await agent.waitForHealthy(count: 3)
        let zone = "\(system.name).pyre."

        let dig = try await runTool("/usr/bin/dig", ["@127.0.0.1", "-p", "\(dnsPort)", "+short", "web.\(zone)", "A"])
        #expect(Set(dig.output.split(separator: "\n").map(String.init)) == Set(fleet.map(\.address)), "\(dig.output)")
        let declared = try await runTool("/usr/bin/dig", ["@127.0.0.1", "-p", "\(dnsPort)", "+short", "+tcp", "db.\(zone)"])
        #expect(declared.output == "192.0.2.10\n")
        let zoneFile = try await pyre(["dns", system.directory.path])
        #expect(zoneFile.status == 0 && zoneFile.output.contains("_deploy.\(zone)"), "\(zoneFile.output)")
        if isolation == "namespaces" {
            // A server's own resolver (/etc/netns/NS/resolv.conf → the bridge) finds its peers.
            let namespace = "pyre-\(system.name)-\(fleet[0].id)"
            let lookup = try await runTool("/usr/sbin/ip", ["netns", "exec", namespace, "getent", "hosts", "web.\(zone)"])
            #expect(Set(lookup.output.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
                        == Set(fleet.map(\.address)), "\(lookup.output)")
        }

        let load = try LoadClient(entry: "127.0.0.1:\(entryPort)", dns: "127.0.0.1:\(dnsPort)", zone: zone,
                                  directory: system.directory)
        try await Task.sleep(for: .seconds(1))
        for version in 2...6 {
            try system.setVersion("v\(version)")
            let deploy = try await pyre(["deploy", system.directory.path])
            #expect(deploy.status == 0, "deploy v\(version): \(deploy.output)")
        }
        try await Task.sleep(for: .seconds(1))
        let result = try await load.stop()
        print("zero downtime, \(isolation) mode, 5 deploys: \(result)")
        #expect(result.entryFailures == [], "through the entry point")
        #expect(result.dnsFailures == [], "through DNS names")
        #expect(result.entryRequests > 50 && result.dnsRequests > 20, "the load ran: \(result)")
        #expect(result.versions.isSuperset(of: ["v1", "v6"]), "the deploys took effect under load: \(result.versions)")
        try await agent.stop()
        #expect(try await agent.networkPiecesLeft().isEmpty)
    }
}

/// HTTP load from a Python process (a real client, not ours): three threads through the
/// entry point and two that resolve `web.ZONE` with dnspython before every request, keeping
/// answers for their TTL as a caching resolver does. Every request opens a new connection.
final class LoadClient: @unchecked Sendable {
    struct Result: Decodable, CustomStringConvertible {
        var entryRequests: Int
        var entryFailures: [String]
        var dnsRequests: Int
        var dnsFailures: [String]
        var versions: Set<String>
        var description: String { "entry \(entryRequests) (\(entryFailures.count) failed), dns \(dnsRequests) (\(dnsFailures.count) failed)" }
    }

    private let process = Process()
    private let output = Pipe()
    private let stopFile: URL

    init(entry: String, dns: String, zone: String, directory: URL) throws {
        let script = directory.appendingPathComponent("load.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        stopFile = directory.appendingPathComponent("load.stop")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, entry, dns, zone, stopFile.path]
        process.standardOutput = output
        try process.run()
    }

    func stop() async throws -> Result {
        try "".write(to: stopFile, atomically: true, encoding: .utf8)
        let data = try await Task.detached { [output] in try output.fileHandleForReading.readToEnd() ?? Data() }.value
        process.waitUntilExit()
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Result.self, from: data)
    }

    static let script = """
    import http.client, json, os, random, sys, threading
    import dns.resolver

    entry, dns_server, zone, stop_file = sys.argv[1:5]
    lock = threading.Lock()
    stats = {"entry_requests": 0, "entry_failures": [], "dns_requests": 0, "dns_failures": [], "versions": set()}

    def get(host, port):
        connection = http.client.HTTPConnection(host, port, timeout=5)
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read().decode()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status} from {host}:{port}")
            return body.split()[-1]
        finally:
            connection.close()

    def run(kind, request):
        while not os.path.exists(stop_file):
            try:
                version, error = request(), None
            except Exception as exception:
                version, error = None, f"{type(exception).__name__}: {exception}"
            with lock:
                stats[kind + "_requests"] += 1
                if error:
                    stats[kind + "_failures"].append(error)
                else:
                    stats["versions"].add(version)

    def through_entry():
        host, port = entry.rsplit(":", 1)
        return get(host, int(port))

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [dns_server.rsplit(":", 1)[0]]
    resolver.port = int(dns_server.rsplit(":", 1)[1])
    resolver.cache = dns.resolver.Cache()

    def through_dns():
        answer = resolver.resolve("web." + zone, "A")
        return get(random.choice([record.address for record in answer]), 8080)

    threads = [threading.Thread(target=run, args=("entry", through_entry)) for _ in range(3)]
    threads += [threading.Thread(target=run, args=("dns", through_dns)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats["versions"] = sorted(stats["versions"])
    print(json.dumps(stats))
    """
}
