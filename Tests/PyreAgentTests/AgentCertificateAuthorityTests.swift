import Foundation
import NIOSSL
import PyreAPI
@testable import PyreAgent
import PyreCore
import Testing
import X509

/// The agent's CA is made once and kept: a restart finds the same one (servers' environment
/// stays the same), a certificate it issues names the address and the zone's services, and a
/// damaged CA is an error that says what to do.
struct AgentCertificateAuthorityTests {
    private func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func theCAIsMadeOnceAndKeptWithItsKeyPrivate() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try AgentCertificateAuthority.loadOrCreate(in: directory, system: "shop")
        let again = try AgentCertificateAuthority.loadOrCreate(in: directory, system: "shop")
        #expect(first.certificatePEM == again.certificatePEM)
        let mode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("ca-key.pem").path)[.posixPermissions]
        #expect(mode as? Int == 0o600)
        #expect(try first.certificate.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
    }

    @Test func anIssuedCertificateNamesTheAddressAndTheServicesAndLoadsInTLS() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let authority = try AgentCertificateAuthority.loadOrCreate(in: directory, system: "shop")
        let issued = try authority.issue(address: "10.0.0.5", names: ["events.shop.pyre", "logs.shop.pyre"])
        let certificate = try Certificate(pemEncoded: issued.certificate)
        #expect(certificate.issuer == authority.certificate.subject)
        let names = try #require(try certificate.extensions.subjectAlternativeNames)
        #expect(names.contains(.ipAddress(.init(contentBytes: [10, 0, 0, 5]))))
        #expect(names.contains(.dnsName("events.shop.pyre")) && names.contains(.dnsName("logs.shop.pyre")))
        #expect(try certificate.extensions.extendedKeyUsage?.contains(.serverAuth) == true)
        _ = try NIOSSLCertificate(bytes: Array(issued.certificate.utf8), format: .pem)
        _ = try NIOSSLPrivateKey(bytes: Array(issued.key.utf8), format: .pem)
    }

    @Test func aDamagedCAIsAnErrorThatSaysWhatToDo() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try AgentCertificateAuthority.loadOrCreate(in: directory, system: "shop")
        try "garbage".write(to: directory.appendingPathComponent("ca.pem"), atomically: true, encoding: .utf8)
        let error = try #require(throws: (any Error).self) {
            try AgentCertificateAuthority.loadOrCreate(in: directory, system: "shop")
        }
        #expect("\(error)".contains("move the directory away"), "\(error)")
    }
}

/// What servers on AWS are served with: the agent's own chain (its certificate, then the CA)
/// for the address and the zone's names, or the user's files as they are.
struct NetworkTLSTests {
    private func spec(tls: AWSTLSSpec?) -> SystemSpec {
        var aws = AWSSpec()
        aws.agentAddress = "127.0.0.1"
        aws.tls = tls
        return SystemSpec(name: "shop", provider: .aws, aws: aws, images: [], services: [],
                          directory: FileManager.default.temporaryDirectory)
    }

    @Test func theAgentsOwnCertificateChainsToItsCA() throws {
        let state = StateDirectory(root: FileManager.default.temporaryDirectory.appendingPathComponent("pyre-tls-\(UUID().uuidString)"))
        try state.create()
        defer { try? FileManager.default.removeItem(at: state.root) }
        let network = try NetworkTLS.prepare(spec(tls: nil), state: state)
        #expect(network.address == "127.0.0.1")
        let chain = try NIOSSLCertificate.fromPEMFile(network.certificatePath)
        #expect(chain.count == 2, "the agent's certificate, then the CA")
        #expect(try String(contentsOf: state.servedCAFile, encoding: .utf8) == network.caPEM)
        _ = try network.serverConfiguration()
    }

    @Test func theUsersCertificateIsServedAsItIs() throws {
        let state = StateDirectory(root: FileManager.default.temporaryDirectory.appendingPathComponent("pyre-tls-\(UUID().uuidString)"))
        try state.create()
        defer { try? FileManager.default.removeItem(at: state.root) }
        let own = state.root.appendingPathComponent("own")
        let authority = try AgentCertificateAuthority.loadOrCreate(in: own, system: "elsewhere")
        let issued = try authority.issue(address: "127.0.0.1", names: ["agent.example.com"])
        try issued.certificate.write(to: own.appendingPathComponent("agent.pem"), atomically: true, encoding: .utf8)
        try issued.key.write(to: own.appendingPathComponent("agent-key.pem"), atomically: true, encoding: .utf8)
        let files = AWSTLSSpec(certificate: own.appendingPathComponent("agent.pem").path,
                               key: own.appendingPathComponent("agent-key.pem").path, ca: own.appendingPathComponent("ca.pem").path)
        let network = try NetworkTLS.prepare(spec(tls: files), state: state)
        #expect(network.certificatePath == files.certificate && network.keyPath == files.key)
        #expect(network.caPEM == authority.certificatePEM)
        #expect(try String(contentsOf: state.servedCAFile, encoding: .utf8) == authority.certificatePEM, "what the CLI trusts")
        #expect(!FileManager.default.fileExists(atPath: state.tlsDirectory.appendingPathComponent("ca-key.pem").path),
                "no CA of the agent's own is made")
        _ = try network.serverConfiguration()
    }
}
