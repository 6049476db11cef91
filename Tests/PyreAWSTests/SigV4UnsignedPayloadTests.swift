import Foundation
@testable import PyreAWS
import Testing

/// An unsigned payload signs `UNSIGNED-PAYLOAD`, sent as a signed `X-Amz-Content-SHA256`: the
/// signature covers the headers (EBS's block checksum among them) and not the body. moto, which
/// checks every signature, takes such PutSnapshotBlock calls (SnapshotUploadTests).
struct SigV4UnsignedPayloadTests {
    private func signed(body: [UInt8], unsigned: Bool) -> SigV4Request {
        var options = SigV4Signer.Options()
        options.unsignedPayload = unsigned
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"),
                                 region: "us-east-1", service: "ebs", options: options)
        var request = SigV4Request(method: "PUT", path: "/snapshots/snap-1/blocks/0", query: "",
                                   headers: [.init("Host", "ebs.us-east-1.amazonaws.com"), .init("x-amz-Checksum", "abc=")],
                                   body: body)
        signer.sign(&request, at: Date(timeIntervalSince1970: 1_700_000_000))
        return request
    }

    private func authorization(_ request: SigV4Request) -> String {
        request.headers.first { $0.name == "Authorization" }?.value ?? ""
    }

    @Test func theBodyIsOutsideTheSignatureAndTheChecksumHeaderInside() {
        let first = signed(body: [1, 2, 3], unsigned: true), other = signed(body: [9, 9], unsigned: true)
        #expect(authorization(first) == authorization(other))
        #expect(first.headers.contains { $0.name == "X-Amz-Content-SHA256" && $0.value == "UNSIGNED-PAYLOAD" })
        #expect(authorization(first).contains("SignedHeaders=host;x-amz-checksum;x-amz-content-sha256;x-amz-date"))
        #expect(authorization(signed(body: [1, 2, 3], unsigned: false)) != authorization(signed(body: [9, 9], unsigned: false)))
    }
}
