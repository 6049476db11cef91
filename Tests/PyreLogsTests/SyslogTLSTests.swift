import Foundation
import PyreCore
import Testing
@testable import PyreLogs

/// RFC 5425: a client speaking TLS (Python's ssl, verifying the receiver's certificate) is
/// received like a TCP one; a plain-text client on the TLS port gets nothing stored and
/// does not disturb it; a bad certificate file is an error that names it.
@Suite struct SyslogTLSTests {
    static func selfSigned(in directory: URL) throws -> SyslogTLSConfiguration {
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                                     "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"])
        return SyslogTLSConfiguration(certificatePath: certificate, keyPath: key, port: 0)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func aTLSClientIsReceived() async throws {
        let fixture = try await ReceiverFixture(tls: Self.selfSigned)
        defer { Task { await fixture.stop() } }
        let port = try #require(fixture.tlsPort)
        let certificate = fixture.directory.url.appendingPathComponent("cert.pem").path
        try run("/usr/bin/python3", ["-c", """
            import socket, ssl
            plain = socket.create_connection(("127.0.0.1", \(port)))
            plain.sendall(b"22 <14>1 - - - - - - clear")
            plain.close()
            context = ssl.create_default_context(cafile="\(certificate)")
            with socket.create_connection(("127.0.0.1", \(port))) as raw:
                with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    for text in ["first over TLS", "second over TLS"]:
                        message = f"<165>1 2026-11-27T10:00:00Z host tlsapp 7 - - {text}".encode()
                        tls.sendall(str(len(message)).encode() + b" " + message)
            """])
        let records = try await fixture.records(atLeast: 2)
        #expect(records.map(\.message) == ["first over TLS", "second over TLS"])
        #expect(records.allSatisfy { $0.appName == "tlsapp" && $0.facility == .local4 && $0.severity == .notice })
    }

    @Test func aMissingCertificateIsNamed() async throws {
        await #expect {
            _ = try await ReceiverFixture(tls: { directory in
                SyslogTLSConfiguration(certificatePath: directory.appendingPathComponent("missing.pem").path,
                                       keyPath: "/nonexistent/key.pem", port: 0)
            })
        } throws: { error in
            (error as? PyreError)?.message.contains("missing.pem") == true
        }
    }
}
