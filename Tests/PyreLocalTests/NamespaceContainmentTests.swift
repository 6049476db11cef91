import Foundation
import Glibc
import Logging
import PyreCore
import PyrePOSIX
import PyreTesting
import Testing
@testable import PyreLocal

/// What a namespace-mode server, which runs untrusted code, must not be able to do to the
/// host or its siblings. Each test has a system of its own, its subnet hashed from its name.
@Suite("Local provider, namespace containment", .serialized,
       .enabled(if: getuid() == 0, "namespace isolation needs root"),
       .enabled(if: ExecutableLookup.find("nft") != nil, "namespace isolation needs nftables' nft"))
struct NamespaceContainmentTests {
    @Test func serverRunsUnprivilegedWithoutCapabilities() async throws {
        try await withSystem("plt-sec-caps") { provider, root, system, _ in
            let image = try TestSupport.makeImage(in: root)
            let ip = try #require(ExecutableLookup.find("ip"))
            let script = """
                grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status
                echo "uid=$(id -u)"
                \(ip) addr add 10.9.9.9/32 dev eth0 2>/dev/null && echo netadmin=yes || echo netadmin=no
                echo ready
                exec sleep 600
                """
            let plain = ServerID("web-1-caps")
            _ = try await provider.create(TestSupport.spec(plain, system: system, image: image, command: ["/bin/sh", "-c", script]))
            let output = try await TestSupport.waitForLine("ready", of: plain, in: provider)
            for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
                #expect(output.contains("\(set):\t0000000000000000"), "\(output)")
            }
            #expect(output.contains("NoNewPrivs:\t1"))
            #expect(output.contains("uid=65534"), "nobody by default: \(output)")
            #expect(output.contains("netadmin=no"))

            // Root when asked, on a port below 1024: CAP_NET_BIND_SERVICE (bit 10) and nothing else.
            let low = ServerID("web-1-lowp")
            _ = try await provider.create(TestSupport.spec(low, system: system, image: image, command: ["/bin/sh", "-c", script],
                                                           port: 80, user: "root"))
            let lowOutput = try await TestSupport.waitForLine("ready", of: low, in: provider)
            for set in ["CapPrm", "CapEff", "CapBnd"] {
                #expect(lowOutput.contains("\(set):\t0000000000000400"), "\(lowOutput)")
            }
            #expect(lowOutput.contains("uid=0"))
            #expect(lowOutput.contains("netadmin=no"))
        }
    }

    @Test func devIsPrivateAndReadOnly() async throws {
        try await withSystem("plt-sec-dev") { provider, root, system, _ in
            let image = try TestSupport.makeImage(in: root)
            let id = ServerID("web-1-devx")
            let probe = "/dev/pyre-local-tests-\(id)"
            defer { unlink(probe) }
            let script = """
                touch \(probe) 2>/dev/null && echo dev=writable || echo dev=readonly
                echo "devices=$(ls /dev | tr '\\n' ' ')"
                echo discard > /dev/null && echo null=ok
                echo "urandom=$(head -c 8 /dev/urandom | wc -c)"
                touch /dev/shm/x && echo shm=writable
                echo ready
                exec sleep 600
                """
            // Root (without capabilities) is the worst case: it owns the host's /dev.
            _ = try await provider.create(TestSupport.spec(id, system: system, image: image, command: ["/bin/sh", "-c", script],
                                                           user: "root"))
            let output = try await TestSupport.waitForLine("ready", of: id, in: provider)
            #expect(output.contains("dev=readonly"), "\(output)")
            #expect(!FileManager.default.fileExists(atPath: probe), "touch in the server created a file on the host")
            #expect(output.contains("devices=fd full null ptmx pts random shm stderr stdin stdout tty urandom zero "), "\(output)")
            #expect(output.contains("null=ok"))
            #expect(output.contains("urandom=8"))
            #expect(output.contains("shm=writable"))
        }
    }

    @Test func secretsAndTheStateDirectoryAreHidden() async throws {
        // Outside /tmp, /var/tmp and /run, which the sandbox replaces anyway: as a state directory would be.
        let state = URL(fileURLWithPath: "/var/lib/pyre-local-tests-state-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: state) }
        let images = state.appendingPathComponent("volatile/images/abc")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try "secret\n".write(to: state.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let image = try TestSupport.makeImage(in: images)
        try await withSystem("plt-sec-hide", configure: { $0.hiddenPaths.append(state.path) }) { provider, _, system, _ in
            let id = ServerID("web-1-hide")
            let script = """
                echo "shadow=$(cat /etc/shadow 2>/dev/null | wc -c)"
                echo "gshadow=$(cat /etc/gshadow 2>/dev/null | wc -c)"
                echo "root=$(ls -A /root | wc -l)"
                echo "home=$(ls -A /home | wc -l)"
                echo "state=$(ls -A \(state.path) | tr '\\n' ' ')"
                test -e \(state.path)/token && echo token=visible || echo token=hidden
                touch \(state.path)/x 2>/dev/null && echo state=writable || echo state=readonly
                cat app.txt
                echo ready
                exec sleep 600
                """
            // Root (without capabilities) would read all of these on the host.
            _ = try await provider.create(TestSupport.spec(id, system: system, image: image, command: ["/bin/sh", "-c", script],
                                                           user: "root"))
            let output = try await TestSupport.waitForLine("ready", of: id, in: provider)
            #expect(output.contains("shadow=0"), "\(output)")
            #expect(output.contains("gshadow=0"))
            #expect(output.contains("root=0"))
            #expect(output.contains("home=0"))
            #expect(output.contains("state=volatile "), "only the way to the image: \(output)")
            #expect(output.contains("token=hidden"))
            #expect(output.contains("state=readonly"))
            #expect(output.contains("hello from the image"), "the image stays visible: \(output)")
        }
    }

    @Test func serversCannotSpoofAddressesOrMACs() async throws {
        try await withSystem("plt-sec-spoof") { provider, root, system, network in
            let image = try TestSupport.makeImage(in: root)
            let listener = """
                import socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("0.0.0.0", 9999))
                print("listening", flush=True)
                while True:
                    data, (source, _) = s.recvfrom(100)
                    print("got", source, data.decode(), flush=True)
                """
            let attacker = ServerID("web-1-evil")
            let sibling = ServerID("web-1-good")
            let evil = try await provider.create(TestSupport.spec(attacker, system: system, image: image, command: TestSupport.sleeper))
            let good = try await provider.create(TestSupport.spec(sibling, system: system, image: image,
                                                                  command: [TestSupport.python, "-c", listener]))
            _ = try await TestSupport.waitForLine("started", of: attacker, in: provider)
            _ = try await TestSupport.waitForLine("listening", of: sibling, in: provider)
            let inAttacker = network.namespaceName(for: attacker)
            let spoofed = network.subnet.address(at: 77)

            // With every privilege in the attacker's network namespace (more than the server has):
            try udp(from: inAttacker, source: nil, to: good.address, "genuine")
            _ = try await TestSupport.waitForLine("got \(evil.address) genuine", of: sibling, in: provider)
            try ip(in: inAttacker, "addr", "add", "\(spoofed)/32", "dev", "eth0")
            try udp(from: inAttacker, source: spoofed, to: good.address, "other-address")
            // The host knows the sibling's MAC; a gratuitous ARP claims its address for the attacker.
            try udp(from: nil, source: nil, to: good.address, "from-host")
            _ = try await TestSupport.waitForLine("got \(network.bridgeAddress) from-host", of: sibling, in: provider)
            try await Task.sleep(for: .milliseconds(1100))  // the kernel ignores ARP updates within a second of the last
            try gratuitousARP(from: inAttacker, claiming: good.address)
            try ip(in: inAttacker, "link", "set", "eth0", "address", "02:de:ad:be:ef:01")
            try udp(from: inAttacker, source: nil, to: good.address, "other-mac")
            try udp(from: nil, source: nil, to: good.address, "after-arp")
            let output = try await TestSupport.waitForLine("got \(network.bridgeAddress) after-arp", of: sibling, in: provider)
            #expect(output.contains("got \(network.bridgeAddress) after-arp"), "the host still reaches the sibling: \(output)")
            #expect(!output.contains { $0.contains("other-address") }, "\(output)")
            #expect(!output.contains { $0.contains("other-mac") }, "\(output)")
            let neighbour = try ProcessSpawner.run([try #require(ExecutableLookup.find("ip")), "neigh", "show", good.address,
                                                    "dev", network.bridgeName]).output
            #expect(neighbour.contains(network.mac(for: sibling)), "\(neighbour)")
            #expect(!neighbour.contains(network.mac(for: attacker)), "\(neighbour)")
        }
    }

    @Test func hostAnswersServersOnlyOnTheAgentsPorts() async throws {
        let allowed = try TCPListener(host: "0.0.0.0")
        let closed = try TCPListener(host: "0.0.0.0")
        defer { withExtendedLifetime((allowed, closed)) {} }
        try await withSystem("plt-sec-host", configure: { $0.systemServices = SystemServicePorts(tcp: [allowed.port]) }) {
            provider, root, system, network in
            let image = try TestSupport.makeImage(in: root)
            let probe = """
                import socket, sys
                for name, port in (("allowed", \(allowed.port)), ("closed", \(closed.port))):
                    try:
                        socket.create_connection(("\(network.bridgeAddress)", port), timeout=3).close()
                        print(name + "=open", flush=True)
                    except OSError as error:
                        print(name + "=unreachable", error, flush=True)
                print("ready", flush=True)
                """
            let id = ServerID("web-1-host")
            _ = try await provider.create(TestSupport.spec(id, system: system, image: image, command: [TestSupport.python, "-c", probe]))
            let output = try await TestSupport.waitForLine("ready", of: id, in: provider)
            #expect(output.contains("allowed=open"), "\(output)")
            #expect(output.contains { $0.hasPrefix("closed=unreachable") }, "\(output)")
        }
    }

    @Test func hostSocketsAreOutOfReachAndRunAndVarTmpArePrivate() async throws {
        let id = ServerID("web-1-sock")
        // A read-only mount does not stop connect(): sockets must not be visible at all.
        let sockets = ["/run/pyre-local-tests-\(id).sock", "/var/tmp/pyre-local-tests-\(id).sock"]
        let listeners = try sockets.map { try listenUNIX(at: $0) }
        let probes = ["/run/pyre-local-tests-\(id).probe", "/var/tmp/pyre-local-tests-\(id).probe"]
        defer {
            listeners.forEach { Glibc.close($0) }
            (sockets + probes).forEach { unlink($0) }
        }
        try await withSystem("plt-sec-sock") { provider, root, system, network in
            let image = try TestSupport.makeImage(in: root)
            let probe = """
                import socket
                for path in \(sockets):
                    s = socket.socket(socket.AF_UNIX)
                    try:
                        s.connect(path)
                        print("connected", path, flush=True)
                    except OSError as error:
                        print("unreachable", path, error, flush=True)
                for path in \(probes):
                    try:
                        open(path, "w").close()
                        print("wrote", path, flush=True)
                    except OSError as error:
                        print("read-only", path, error, flush=True)
                print("resolv=" + open("/etc/resolv.conf").read().strip(), flush=True)
                print("ready", flush=True)
                """
            // Root (without capabilities) is the worst case: it may connect to root's sockets.
            _ = try await provider.create(TestSupport.spec(id, system: system, image: image,
                                                           command: [TestSupport.python, "-c", probe], user: "root"))
            let output = try await TestSupport.waitForLine("ready", of: id, in: provider)
            #expect(!output.contains { $0.hasPrefix("connected") }, "\(output)")
            #expect(output.filter { $0.hasPrefix("unreachable") }.count == sockets.count, "\(output)")
            #expect(output.filter { $0.hasPrefix("wrote") }.count == probes.count, "/run and /var/tmp are writable: \(output)")
            for path in probes { #expect(!FileManager.default.fileExists(atPath: path), "\(path) was written on the host") }
            #expect(output.contains("resolv=nameserver \(network.bridgeAddress)"), "\(output)")
        }
    }

    @Test func kernelFilesOfProcAreReadOnly() async throws {
        try await withSystem("plt-sec-proc") { provider, root, system, _ in
            let image = try TestSupport.makeImage(in: root)
            // Files of the host's kernel a root user may write without any capability.
            let files = ["/proc/irq/default_smp_affinity", "/proc/sysrq-trigger", "/proc/sys/kernel/hostname"]
                .filter { FileManager.default.fileExists(atPath: $0) }
            let probe = """
                import os
                for path in \(files):
                    try:
                        os.close(os.open(path, os.O_WRONLY))
                        print("writable", path, flush=True)
                    except OSError as error:
                        print("read-only", path, error, flush=True)
                print("ready", flush=True)
                """
            let id = ServerID("web-1-proc")
            _ = try await provider.create(TestSupport.spec(id, system: system, image: image,
                                                           command: [TestSupport.python, "-c", probe], user: "root"))
            let output = try await TestSupport.waitForLine("ready", of: id, in: provider)
            #expect(!files.isEmpty)
            #expect(!output.contains { $0.hasPrefix("writable") }, "\(output)")
            #expect(output.filter { $0.hasPrefix("read-only") }.count == files.count, "\(output)")
        }
    }

    @Test func hostKeyringsAreOutOfReach() async throws {
        // A key in the user keyring of the host's root, as Kerberos or ecryptfs keep them.
        let keyctl = """
            import ctypes, sys
            libc = ctypes.CDLL(None, use_errno=True)
            if sys.argv[1] == "add":
                print(libc.syscall(248, b"user", b"pyre-local-tests-key", b"host-secret", 11, -4))
            else:
                libc.syscall(250, 21, int(sys.argv[2]))
            """
        let added = try ProcessSpawner.run([TestSupport.python, "-c", keyctl, "add"])
        let key = try #require(Int(added.output.trimmingCharacters(in: .whitespacesAndNewlines)), "\(added.output)")
        try #require(key > 0, "cannot add a key on the host: \(added.output)")
        defer { _ = try? ProcessSpawner.run([TestSupport.python, "-c", keyctl, "invalidate", String(key)]) }
        try await withSystem("plt-sec-keys") { provider, root, system, _ in
            let image = try TestSupport.makeImage(in: root)
            let probe = """
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                for name, keyring in (("user", -4), ("session", -3)):
                    key = libc.syscall(250, 10, keyring, b"user", b"pyre-local-tests-key", 0)
                    if key > 0:
                        buffer = ctypes.create_string_buffer(64)
                        length = libc.syscall(250, 11, key, buffer, 64)
                        print(name + "=read", buffer.raw[:max(length, 0)].decode(), flush=True)
                    else:
                        print(name + "=errno", ctypes.get_errno(), flush=True)
                print("ready", flush=True)
                """
            let id = ServerID("web-1-keys")
            _ = try await provider.create(TestSupport.spec(id, system: system, image: image,
                                                           command: [TestSupport.python, "-c", probe], user: "root"))
            let output = try await TestSupport.waitForLine("ready", of: id, in: provider)
            #expect(!output.contains { $0.contains("host-secret") }, "\(output)")
            #expect(output.contains("user=errno \(ENOSYS)"), "\(output)")
            #expect(output.contains("session=errno \(ENOSYS)"), "\(output)")
        }
    }

    @Test func anotherSystemsServersAreUnreadable() async throws {
        // Another system's servers directory, outside /tmp as a real state directory would be.
        let other = URL(fileURLWithPath: "/var/lib/pyre-local-tests-other-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: other) }
        let servers = other.appendingPathComponent("servers")
        _ = try LocalProvider(configuration: LocalProviderConfiguration(system: "plt-sec-other", serversDirectory: servers,
                                                                        isolation: .process), logger: TestSupport.logger)
        let log = servers.appendingPathComponent("web-9-9999/stdout.log")
        try FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
        try "other-system-secret\n".write(to: log, atomically: true, encoding: .utf8)
        try await withSystem("plt-sec-othr") { provider, root, system, _ in
            let image = try TestSupport.makeImage(in: root)
            let id = ServerID("web-1-othr")
            let script = """
                cat \(log.path) 2>/dev/null || echo log=unreadable
                ls \(servers.path) 2>/dev/null || echo servers=unlistable
                echo ready
                exec sleep 600
                """
            _ = try await provider.create(TestSupport.spec(id, system: system, image: image, command: ["/bin/sh", "-c", script]))
            let output = try await TestSupport.waitForLine("ready", of: id, in: provider)
            #expect(!output.contains("other-system-secret"), "\(output)")
            #expect(output.contains("log=unreadable"), "\(output)")
            #expect(output.contains("servers=unlistable"), "\(output)")
        }
    }

    @Test func framesTheBridgeDoesNotForwardReachNoHostPort() async throws {
        // The bridge hands a link-local group frame (LLDP's 01:80:c2:00:00:0e) to the host
        // on the port itself, past the bridge rules: the host must drop what it carries.
        let receiver = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { Glibc.close(receiver) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(receiver, $0, length) == 0 && getsockname(receiver, $0, &length) == 0
            }
        }
        try #require(bound && setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        try await withSystem("plt-sec-lldp") { provider, root, system, network in
            let image = try TestSupport.makeImage(in: root)
            let attacker = ServerID("web-1-lldp")
            let evil = try await provider.create(TestSupport.spec(attacker, system: system, image: image, command: TestSupport.sleeper))
            _ = try await TestSupport.waitForLine("started", of: attacker, in: provider)
            // With every privilege in the attacker's network namespace (more than the server has).
            let code = """
                import socket, struct
                mac = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
                source, target = socket.inet_aton("\(evil.address)"), socket.inet_aton("\(network.bridgeAddress)")
                payload = b"past-the-bridge"
                udp = struct.pack("!HHHH", 40000, \(port), 8 + len(payload), 0) + payload
                header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, source, target)
                total = sum(struct.unpack("!10H", header))
                while total > 0xffff:
                    total = (total & 0xffff) + (total >> 16)
                header = header[:10] + struct.pack("!H", ~total & 0xffff) + header[12:]
                frame = bytes.fromhex("0180c200000e") + mac + b"\\x08\\x00" + header + udp
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                s.bind(("eth0", 0))
                for _ in range(3):
                    s.send(frame)
                """
            try run(in: network.namespaceName(for: attacker), [TestSupport.python, "-c", code])
            var buffer = [UInt8](repeating: 0, count: 64)
            let received = recv(receiver, &buffer, buffer.count, 0)
            #expect(received < 0, "the host took \(String(decoding: buffer.prefix(max(received, 0)), as: UTF8.self))")
        }
    }

    // MARK: - Helpers

    /// A provider for `system` on the subnet hashed from its name, and its network's names.
    private func withSystem(_ system: String, configure: (inout LocalProviderConfiguration) -> Void = { _ in },
                            _ body: (LocalProvider, URL, String, NamespaceNetwork) async throws -> Void) async throws {
        let subnet = LocalProviderConfiguration.defaultSubnet(for: system)
        let network = try NamespaceNetwork(system: system, subnet: IPv4Subnet(subnet), logger: TestSupport.logger)
        try await TestSupport.withProvider(isolation: .namespaces, system: system, subnet: subnet, configure: configure) {
            provider, root in
            try await body(provider, root, system, network)
        }
    }

    private func ip(in namespace: String, _ arguments: String...) throws {
        let ip = try #require(ExecutableLookup.find("ip"))
        let result = try ProcessSpawner.run([ip, "netns", "exec", namespace, ip] + arguments)
        #expect(result.status == 0, "ip \(arguments): \(result.output)")
    }

    /// Sends one UDP datagram to port 9999, from `namespace` (nil: the host) and `source`.
    private func udp(from namespace: String?, source: String?, to address: String, _ text: String) throws {
        let code = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            \(source.map { "s.bind((\"\($0)\", 0))" } ?? "")
            s.sendto(b"\(text)", ("\(address)", 9999))
            """
        try run(in: namespace, [TestSupport.python, "-c", code])
    }

    /// Broadcasts an ARP reply from the namespace's eth0 saying `address` is at its MAC.
    private func gratuitousARP(from namespace: String, claiming address: String) throws {
        let code = """
            import socket, struct
            mac = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
            ip = socket.inet_aton("\(address)")
            frame = b"\\xff" * 6 + mac + b"\\x08\\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + mac + ip + b"\\xff" * 6 + ip
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            s.bind(("eth0", 0))
            for _ in range(3):
                s.send(frame)
            """
        try run(in: namespace, [TestSupport.python, "-c", code])
    }

    /// A listening UNIX socket at `path` anyone may connect to; its descriptor.
    private func listenUNIX(at path: String) throws -> Int32 {
        unlink(path)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
        try #require(descriptor >= 0 && bound && listen(descriptor, 16) == 0 && chmod(path, 0o777) == 0,
                     "cannot listen on \(path): \(String(cString: strerror(errno)))")
        return descriptor
    }

    private func run(in namespace: String?, _ command: [String]) throws {
        let ip = try #require(ExecutableLookup.find("ip"))
        let result = try ProcessSpawner.run((namespace.map { [ip, "netns", "exec", $0] } ?? []) + command)
        #expect(result.status == 0, "\(command): \(result.output)")
    }
}
