import Foundation
import Logging
import PyreAWS
import PyreAPI
import PyreAgent
import PyreCore
import PyreImages
import PyreTesting
import Testing

/// `provider: aws` end to end through the real CLI, against moto: `pyre bake` tags the AMI,
/// `pyre up` starts three instances and publishes them in Route 53, an instance terminated
/// behind Pyre's back is replaced, a changed image is refused until it is baked, and the
/// redeploy replaces every instance and record.
@Suite(.serialized)
struct AWSDeployTests {
    @Test func bakeDeployRedeployAndStopOnMoto() async throws {
        let moto = try await MotoServer.shared()
        let client = AWSClient(configuration: moto.configuration(), logger: Logger(label: "test"))
        let ec2 = EC2Client(client: client)
        let route53 = Route53Client(client: client)
        // Other suites share moto and tag the first AMIs; these are this test's own.
        let amis = try await moto.amazonAMIs()
        try #require(amis.count >= 8)
        let (firstAMI, secondAMI) = (amis[6], amis[7])

        let system = try TestSystem(name: "aws\(UUID().uuidString.prefix(6).lowercased())", onThisHost: false,
                                    extra: """
                                        provider: aws
                                        aws: { health: instance, instance_type: t3.nano, agent_address: 127.0.0.1,
                                               dns_port: \(try freeLoopbackPort()), syslog_tls_port: \(try freeLoopbackPort()) }
                                        events: { port: \(try freeLoopbackPort()) }
                                        logs: { port: \(try freeLoopbackPort()), relp_port: \(try freeLoopbackPort()) }
                                        dns: { records: [{ name: db, type: A, value: 192.0.2.10 }, { name: "@", type: MX, value: "10 mail.example.com." }] }
                                        """,
                                    image: "ami: { us-east-1: \(firstAMI) }")
        defer { system.cleanUp() }
        let environment = moto.environment
        let bake = try await pyre(["bake", system.directory.path], environment: environment)
        #expect(bake.status == 0, "\(bake.output)")
        #expect(bake.output.contains("\(firstAMI)  tagged pyre:image=sha256:"), "\(bake.output)")

        let agent = try AgentProcess(system, isolation: "process", environment: environment)
        defer { agent.terminate() }
        let launched = try await agent.waitForHealthy(count: 3)
        #expect(launched.allSatisfy { $0.id.hasPrefix("i-") }, "servers are named by their instance ids")
        let status = try await pyre(["status", system.directory.path], environment: environment)
        #expect(launched.allSatisfy { status.output.contains($0.id) }, "\(status.output)")

        // Self-healing: an instance terminated behind Pyre's back is replaced.
        try await ec2.terminateInstances([launched[0].id])
        let first = try await agent.waitForHealthy(count: 3, excluding: [launched[0].id])
        let zone = try #require(try await route53.findHostedZone("\(system.name).pyre."))
        // Private to the servers' VPC (here the region's default, as no subnet is named).
        let vpc = try await ec2.systemVPC(vpc: nil, subnet: nil)
        #expect(try await route53.associatedVPCs(zoneID: zone) == [Route53Client.VPC(id: vpc, region: moto.region)])
        func webAddresses() async throws -> [String] {
            try await route53.listRecordSets(zoneID: zone).first { $0.name == "web.\(system.name).pyre." && $0.type == "A" }?
                .values.sorted() ?? []
        }
        #expect(try await webAddresses() == first.map(\.address).sorted())
        let sets = try await route53.listRecordSets(zoneID: zone)
        #expect(sets.contains(Route53RecordSet(name: "db.\(system.name).pyre.", type: "A", ttl: 5, values: ["192.0.2.10"])),
                "static records of pyre.yml are in the hosted zone")
        #expect(sets.contains(Route53RecordSet(name: "\(system.name).pyre.", type: "MX", ttl: 5, values: ["10 mail.example.com."])))
        let running = try await ec2.describeInstances(filters: ["tag:pyre:system": [system.name],
                                                                "instance-state-name": ["running"]])
        #expect(Set(running.map(\.id)) == Set(first.map(\.id)))
        #expect(running.allSatisfy { $0.imageID == firstAMI && $0.instanceType == "t3.nano" })

        // A new image on the old AMI: refused, nothing changes.
        try system.setVersion("v2")
        let refused = try await pyre(["deploy", system.directory.path], environment: environment)
        #expect(refused.status != 0)
        #expect(refused.output.contains("run pyre bake"), "\(refused.output)")
        #expect(Set(try await agent.status().services.flatMap(\.servers).map(\.id)) == Set(first.map(\.id)))

        system.image = "ami: { us-east-1: \(secondAMI) }"
        try system.writeManifest(service: "count: 3")
        let rebake = try await pyre(["bake", system.directory.path], environment: environment)
        #expect(rebake.output.contains("\(secondAMI)  tagged pyre:image="), "\(rebake.output)")
        let deploy = try await pyre(["deploy", system.directory.path], environment: environment)
        #expect(deploy.status == 0, "\(deploy.output)")
        let second = try await agent.waitForHealthy(count: 3, excluding: Set(first.map(\.id)))
        #expect(try await webAddresses() == second.map(\.address).sorted())
        let old = try await ec2.describeInstances(filters: ["instance-id": first.map(\.id)])
        #expect(old.count == 3 && old.allSatisfy { ["shutting-down", "terminated"].contains($0.state) })
        let names = Set(try await route53.listRecordSets(zoneID: zone).map(\.name))
        #expect(first.allSatisfy { !names.contains("\($0.id).\(system.name).pyre.") })

        let history = try await pyre(["history", system.directory.path], environment: environment)
        #expect(history.status == 0 && history.output.contains("completed"), "\(history.output)")
        let plan = try await pyre(["plan", system.directory.path], environment: environment)
        #expect(plan.status == 0, "nothing left to do: \(plan.output)")

        try await agent.stop()
        let left = try await ec2.describeInstances(filters: ["tag:pyre:system": [system.name],
                                                             "instance-state-name": ["pending", "running"]])
        #expect(left.isEmpty, "stopping the agent terminates its instances")
        #expect(try await webAddresses().isEmpty, "and takes their records away")
    }

    /// Servers on AWS reach the agent across a network: their user data carries where its events
    /// API, syslog and DNS are and the agent's own CA; the events API answers over TLS with the
    /// token and refuses without it, syslog takes records over TLS, and a client without the CA
    /// gets nothing.
    @Test func serversReachTheAgentOverTLSOnItsAddress() async throws {
        let moto = try await MotoServer.shared()
        let ec2 = EC2Client(client: AWSClient(configuration: moto.configuration(), logger: Logger(label: "test")))
        let ami = try await moto.amazonAMIs()[5]
        let (dnsPort, tlsPort, eventsPort) = (try freeLoopbackPort(), try freeLoopbackPort(), try freeLoopbackPort())
        let system = try TestSystem(name: "awstls\(UUID().uuidString.prefix(6).lowercased())", onThisHost: false, service: "count: 1",
                                    extra: """
                                        provider: aws
                                        aws: { health: instance, instance_type: t3.nano, agent_address: 127.0.0.1,
                                               dns_port: \(dnsPort), syslog_tls_port: \(tlsPort) }
                                        events: { port: \(eventsPort) }
                                        logs: { port: \(try freeLoopbackPort()), relp_port: \(try freeLoopbackPort()) }
                                        """,
                                    image: "ami: { us-east-1: \(ami) }")
        defer { system.cleanUp() }
        let environment = moto.environment
        let bake = try await pyre(["bake", system.directory.path], environment: environment)
        #expect(bake.status == 0, "\(bake.output)")
        let agent = try AgentProcess(system, isolation: "process", environment: environment)
        defer { agent.terminate() }
        let server = try #require(try await agent.waitForHealthy(count: 1).first)

        let ca = try String(contentsOf: system.state.servedCAFile, encoding: .utf8)
        #expect(ca.hasPrefix("-----BEGIN CERTIFICATE-----"))
        let token = try system.state.readEventsToken()
        let userData = try #require(try await ec2.userData(of: server.id))
        for line in ["export PYRE_EVENTS_URL='https://127.0.0.1:\(eventsPort)'", "export PYRE_EVENTS_TOKEN='\(token)'",
                     "export PYRE_LOGS='127.0.0.1:\(tlsPort)'", "export PYRE_DNS='127.0.0.1:\(dnsPort)'",
                     "export PYRE_CA='\(ca)'", "export PYRE_CA_FILE='/etc/pyre/agent-ca.pem'"] {
            #expect(userData.contains(line + "\n"), "\(line) in:\n\(userData)")
        }
        // The private zone names the agent as the agent's own zone does.
        let route53 = Route53Client(client: AWSClient(configuration: moto.configuration(), logger: Logger(label: "test")))
        let zone = try #require(try await route53.findHostedZone("\(system.name).pyre."))
        let sets = try await route53.listRecordSets(zoneID: zone)
        for name in ["dns", "events", "logs"] {
            #expect(sets.contains(Route53RecordSet(name: "\(name).\(system.name).pyre.", type: "A", ttl: 5, values: ["127.0.0.1"])),
                    "\(name) in \(sets)")
        }
        for mode in try FileManager.default.contentsOfDirectory(atPath: system.state.tlsDirectory.path).map({
            try FileManager.default.attributesOfItem(atPath: system.state.tlsDirectory.appendingPathComponent($0).path)[.posixPermissions] as? Int
        }) {
            #expect(mode == 0o600, "the CA's key and the agent's are the owner's only")
        }

        // The events API: over TLS, checked against the CA, with the token.
        let url = "https://127.0.0.1:\(eventsPort)"
        let events = EventsClient(url: url, token: token, caPEM: ca)
        _ = try await events.read("$all", from: 0, limit: 1)
        await #expect(throws: PyreError.self, "a wrong token is refused") {
            _ = try await EventsClient(url: url, token: "not-the-token", caPEM: ca).read("$all", from: 0, limit: 1)
        }
        await #expect(throws: PyreError.self, "a client without the CA does not trust the agent") {
            _ = try await EventsClient(url: url, token: token).read("$all", from: 0, limit: 1)
        }
        let plain = try await runTool("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}",
                                                        "http://127.0.0.1:\(eventsPort)/all"], includeErrors: true)
        #expect(!plain.output.hasPrefix("2"), "plain HTTP gets nothing: \(plain.output)")

        // Syslog over TLS (RFC 5425 octet counting), checked against the CA; without it, refused.
        let caFile = system.directory.appendingPathComponent("ca.pem")
        try ca.write(to: caFile, atomically: true, encoding: .utf8)
        let send = """
            import socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[2] if len(sys.argv) > 2 else None)
            with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    message = b"<14>1 2026-12-04T10:00:00Z host app - - - over-tls-\(system.name)"
                    tls.sendall(str(len(message)).encode() + b" " + message)
            """
        let trusted = try await runTool("/usr/bin/python3", ["-c", send, "\(tlsPort)", caFile.path], includeErrors: true)
        #expect(trusted.status == 0, "\(trusted.output)")
        let untrusted = try await runTool("/usr/bin/python3", ["-c", send, "\(tlsPort)"], includeErrors: true)
        #expect(untrusted.status != 0 && untrusted.output.contains("CERTIFICATE_VERIFY_FAILED"), "\(untrusted.output)")
        var logged = ""
        for _ in 0..<50 where !logged.contains("over-tls-\(system.name)") {
            logged = try await pyre(["logs", system.directory.path, "--grep", "over-tls"], environment: environment).output
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(logged.contains("over-tls-\(system.name)"), "\(logged)")

        // A restarted agent keeps its CA, so the servers' environment is the same: it adopts the
        // instance it finds and replaces nothing.
        agent.signal(SIGKILL)
        try await Task.sleep(for: .seconds(1))
        let restarted = try AgentProcess(system, isolation: "process", environment: environment)
        defer { restarted.terminate() }
        #expect(try await restarted.waitForHealthy(count: 1).map(\.id) == [server.id])
        #expect(try String(contentsOf: system.state.servedCAFile, encoding: .utf8) == ca)
        let plan = try await pyre(["plan", system.directory.path], environment: environment)
        #expect(plan.status == 0, "nothing to replace (exit 0): \(plan.output)")
        try await restarted.stop()
    }

    /// A whole-server image without `ami:` becomes an AMI of its own: its bootable disk goes to
    /// an EBS snapshot through EBS direct (moto, signatures checked), whose blocks read back are
    /// the disk's; the AMI is tagged with the image's digest, a second bake finds it and uploads
    /// nothing, and the servers start from it.
    @Test(.enabled(if: TinyRootfs.isAvailable, "needs busybox-static"))
    func aWholeServerImageIsBakedIntoItsOwnAMI() async throws {
        let moto = try await MotoServer.shared()
        let client = AWSClient(configuration: moto.configuration(), logger: Logger(label: "test"))
        let (ec2, ebs) = (EC2Client(client: client), EBSClient(client: client))
        let system = try TestSystem(name: "awsami\(UUID().uuidString.prefix(6).lowercased())", onThisHost: false,
                                    service: "count: 1")
        defer { system.cleanUp() }
        try TinyRootfs.make(at: system.directory.appending(path: "base.tar"), bootable: true)
        try """
            system: \(system.name)
            provider: aws
            aws: { health: instance, instance_type: t3.nano, agent_address: 127.0.0.1, dns_port: \(try freeLoopbackPort()),
                   syslog_tls_port: \(try freeLoopbackPort()) }
            events: { port: \(try freeLoopbackPort()) }
            logs: { port: \(try freeLoopbackPort()), relp_port: \(try freeLoopbackPort()) }
            images:
              web:
                base: { rootfs: ./base.tar }
                context: ./app
                run: ["/bin/sh", "-c", "exec httpd -f -p 8080 -h /app"]
            services:
              web:
                image: web
                count: 1
                port: 8080
            """.write(to: system.directory.appending(path: "pyre.yml"), atomically: true, encoding: .utf8)
        let environment = moto.environment
        let bake = try await pyre(["bake", system.directory.path, "--keep-disk"], environment: environment)
        #expect(bake.status == 0, "\(bake.output)")
        let registered = try #require(bake.output.firstMatch(of: /web  (ami-[0-9a-f]+)  registered from snapshot (snap-[0-9a-f]+), tagged pyre:image=(sha256:[0-9a-f]+)/),
                                      "\(bake.output)")
        let (ami, snapshot, digest) = (String(registered.1), String(registered.2), String(registered.3))
        #expect(bake.output.contains(/web  snapshot: (\d+)\/\1 blocks, [0-9.]+ MB\/s, ETA 0s/), "progress: \(bake.output)")
        let disk = try #require(bake.output.firstMatch(of: /disk kept at (\S+)/).map { URL(fileURLWithPath: String($0.1)) })

        // The snapshot is the disk: every block with data, and only those, read back equal.
        let data = try Data(contentsOf: disk)
        let blockSize = EBSClient.blockSize
        let listed = try await ebs.listSnapshotBlocks(snapshot)
        let nonZero = stride(from: 0, to: data.count, by: blockSize).filter { start in
            data[start..<min(start + blockSize, data.count)].contains { $0 != 0 }
        }.map { $0 / blockSize }
        #expect(listed.map(\.index) == nonZero)
        for (index, token) in listed {
            let block = try await ebs.getSnapshotBlock(snapshot, index: index, token: token)
            #expect(block == Array(data[(index * blockSize)..<((index + 1) * blockSize)]), "block \(index)")
        }
        #expect(GUIDPartitionTable.decode(start: Array(data.prefix(34 * 512)), sectors: UInt64(data.count / 512))?
            .partitions.map(\.name) == ["EFI system", "pyre-root"])
        let images = try await ec2.describeOwnImages(filters: ["tag:pyre:image": [digest]])
        #expect(images.map(\.id) == [ami] && images.first?.tags["pyre:system"] == system.name)

        // Baked again: found by its tag, nothing uploaded.
        let again = try await pyre(["bake", system.directory.path], environment: environment)
        #expect(again.status == 0 && again.output.contains("web  \(ami)  already baked from"), "\(again.output)")
        #expect(!again.output.contains("snapshot:") && !again.output.contains("making its bootable disk"), "\(again.output)")

        // The servers start from it.
        let agent = try AgentProcess(system, isolation: "process", environment: environment)
        defer { agent.terminate() }
        let server = try #require(try await agent.waitForHealthy(count: 1).first)
        let instance = try #require(try await ec2.describeInstances(filters: ["instance-id": [server.id]]).first)
        #expect(instance.imageID == ami)

        // A deploy of a changed image makes its AMI itself, as pyre bake would.
        try "v2".write(to: system.appDirectory.appending(path: "index.html"), atomically: true, encoding: .utf8)
        let deploy = try await pyre(["deploy", system.directory.path], environment: environment)
        #expect(deploy.status == 0, "\(deploy.output)")
        let made = try #require(deploy.output.firstMatch(of: /web: AMI (ami-[0-9a-f]+)/).map { String($0.1) }, "\(deploy.output)")
        #expect(made != ami && deploy.output.contains("web: making its bootable disk for an AMI"), "\(deploy.output)")
        let replaced = try #require(try await agent.waitForHealthy(count: 1, excluding: [server.id]).first)
        #expect(try await ec2.describeInstances(filters: ["instance-id": [replaced.id]]).first?.imageID == made)
        try await agent.stop()
    }
}
