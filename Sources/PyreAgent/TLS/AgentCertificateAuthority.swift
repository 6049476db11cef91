import Crypto
import Foundation
import PyreAPI
import PyreCore
import SwiftASN1
import X509

/// The agent's own certificate authority, made at its first start and kept in the state
/// directory (`persistent/tls`, keys 0600): servers are given its certificate, so they can
/// check the agent's services across a network without anyone buying or installing a
/// certificate. The CA stays the same across restarts (a new one would change every server's
/// environment, and so replace them all); the agent's certificate is issued again at each start,
/// for the names and address it serves on then.
struct AgentCertificateAuthority {
    let certificate: Certificate
    /// The certificate as its file holds it: what servers are given.
    let certificatePEM: String
    private let key: P256.Signing.PrivateKey

    /// How long the CA and an issued certificate are valid. A certificate is issued at every
    /// start, so a year leaves an agent that runs without a restart for that long.
    static let caLifetime: TimeInterval = 20 * 365 * 86_400
    static let certificateLifetime: TimeInterval = 397 * 86_400

    /// The CA under `directory`, made there first if it is not.
    static func loadOrCreate(in directory: URL, system: String) throws -> AgentCertificateAuthority {
        let certificateFile = directory.appendingPathComponent("ca.pem")
        let keyFile = directory.appendingPathComponent("ca-key.pem")
        if FileManager.default.fileExists(atPath: keyFile.path) {
            do {
                let key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOf: keyFile, encoding: .utf8))
                let pem = try String(contentsOf: certificateFile, encoding: .utf8)
                let certificate = try Certificate(pemEncoded: pem)
                guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
                    throw PyreError(.agent, "the key does not belong to the certificate")
                }
                return AgentCertificateAuthority(certificate: certificate, certificatePEM: pem, key: key)
            } catch {
                throw PyreError(.agent, "cannot read the agent's certificate authority in \(directory.path): \(describe(error)); "
                    + "move the directory away to make a new one (every server is then replaced, as its CA changes)")
            }
        }
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Pyre")
            CommonName("Pyre agent CA for \(system)")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now - 300, notValidAfter: now + caLifetime, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        // The key last: its file is what says a CA was made, so a crash in between makes a new one.
        let pem = try certificate.serializeAsPEM().pemString
        try PrivateFile.write(pem, to: certificateFile)
        try PrivateFile.write(key.pemRepresentation, to: keyFile)
        return AgentCertificateAuthority(certificate: certificate, certificatePEM: pem, key: key)
    }

    /// A server certificate for `address` (an IP address) and `names`, with its new key, as PEM.
    func issue(address: String, names: [String]) throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        var alternatives = names.map { GeneralName.dnsName($0) }
        if let bytes = IPAddressBytes.of(address) {
            alternatives.insert(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))), at: 0)
        }
        let issued = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now - 300, notValidAfter: now + Self.certificateLifetime, issuer: certificate.subject,
            subject: try DistinguishedName { CommonName(names.first ?? address) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternatives)
            },
            issuerPrivateKey: .init(self.key))
        return (try issued.serializeAsPEM().pemString, key.pemRepresentation)
    }
}

/// The network bytes of an IP address literal.
enum IPAddressBytes {
    static func of(_ text: String) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, text, &buffer) == 1 { return Array(buffer.prefix(4)) }
        if inet_pton(AF_INET6, text, &buffer) == 1 { return buffer }
        return nil
    }
}

/// A file only its owner reads (mode 0600), written whole or not at all.
enum PrivateFile {
    static func write(_ text: String, to file: URL) throws {
        let temporary = file.path + ".new"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw PyreError(.agent, "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        let written = text.withCString { Glibc.write(descriptor, $0, strlen($0)) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == text.utf8.count, synced, rename(temporary, file.path) == 0 else {
            unlink(temporary)
            throw PyreError(.agent, "cannot write \(file.path): \(String(cString: strerror(errno)))")
        }
        // The rename lasts only once the directory is on disk too.
        let directory = open(file.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
