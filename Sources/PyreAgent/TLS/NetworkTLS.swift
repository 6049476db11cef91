import Foundation
import NIOSSL
import PyreAPI
import PyreCore

/// How servers on a network (provider aws) reach the agent's services: the address they are
/// served on, and the TLS they are served with. The events API and syslog over TLS use the
/// certificate; servers get the CA certificate to check it (`PYRE_CA`).
struct NetworkTLS: Sendable, Equatable {
    /// `aws: agent_address`, or this host's primary private address.
    let address: String
    let certificatePath: String
    let keyPath: String
    /// The CA certificate (PEM) that servers are given.
    let caPEM: String

    /// The user's certificate (`aws: tls:`), or one the agent's own CA issues now for the
    /// address and the zone's service names.
    static func prepare(_ spec: SystemSpec, state: StateDirectory) throws -> NetworkTLS {
        let address = try spec.aws.agentAddress ?? AgentHostAddress.primary()
        try FileManager.default.createDirectory(at: state.tlsDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        if let own = spec.aws.tls {
            let ca = try String(contentsOfFile: own.ca, encoding: .utf8)
            try PrivateFile.write(ca, to: state.servedCAFile)
            return NetworkTLS(address: address, certificatePath: own.certificate, keyPath: own.key, caPEM: ca)
        }
        let authority = try AgentCertificateAuthority.loadOrCreate(in: state.tlsDirectory, system: spec.name)
        let domain = spec.zone.hasSuffix(".") ? String(spec.zone.dropLast()) : spec.zone
        let issued = try authority.issue(address: address, names: ["events", "logs", "dns"].map { "\($0).\(domain)" })
        let certificate = state.tlsDirectory.appendingPathComponent("agent.pem")
        let key = state.tlsDirectory.appendingPathComponent("agent-key.pem")
        try PrivateFile.write(issued.key, to: key)
        try PrivateFile.write(issued.certificate + "\n" + authority.certificatePEM + "\n", to: certificate)
        try PrivateFile.write(authority.certificatePEM, to: state.servedCAFile)
        return NetworkTLS(address: address, certificatePath: certificate.path, keyPath: key.path,
                          caPEM: authority.certificatePEM)
    }

    /// A TLS server's settings with the certificate chain and key; a file that cannot be read is
    /// an error naming it.
    func serverConfiguration() throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                           privateKey: .privateKey(key))
        } catch {
            throw PyreError(.agent, "cannot load the agent's TLS certificate \(certificatePath) or key \(keyPath): \(error)")
        }
    }
}

/// The address of this host on its main network: the IPv4 address of the interface the
/// default route leaves through. Only read, never connected to.
enum AgentHostAddress {
    static func primary() throws -> String {
        let hint = "set aws: agent_address: to this machine's address in the servers' VPC"
        guard let table = try? String(contentsOfFile: "/proc/net/route", encoding: .utf8) else {
            throw PyreError(.agent, "cannot read /proc/net/route to find this machine's address; \(hint)")
        }
        // Columns: Iface Destination Gateway ...; the default route's destination is 00000000.
        var interface: String?
        for line in table.split(separator: "\n").dropFirst() {
            let columns = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if columns.count > 1 && columns[1] == "00000000" {
                interface = String(columns[0])
                break
            }
        }
        guard let interface else { throw PyreError(.agent, "this machine has no default route, so no primary address; \(hint)") }
        guard let address = ipv4Address(of: interface) else {
            throw PyreError(.agent, "interface \(interface), of the default route, has no IPv4 address; \(hint)")
        }
        return address
    }

    private static func ipv4Address(of interface: String) -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var entry = list
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard String(cString: current.pointee.ifa_name) == interface, let address = current.pointee.ifa_addr,
                  address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let found = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                withUnsafePointer(to: inet.pointee.sin_addr) { inet_ntop(AF_INET, $0, &text, socklen_t(text.count)) }
            }
            if found != nil { return String(cString: text) }
        }
        return nil
    }
}
