import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The credentials of the instance's IAM role from the EC2 instance metadata service, the
/// IMDSv2 way: a session token first (PUT), then the role's name and its credentials.
struct AWSInstanceMetadata {
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT`, or the link-local address every instance has.
    var endpoint: String
    static let defaultEndpoint = "http://169.254.169.254"
    /// Seconds per call: off an instance nothing answers, so give up soon, as the SDKs do
    /// (`AWS_METADATA_SERVICE_TIMEOUT` changes it).
    var timeout: Double
    static let defaultTimeout = 2.0

    func fetch(http: HTTPClient, tried: [String]) async throws -> AWSCredentials {
        do {
            let token = try await call(.PUT, "/latest/api/token", http: http,
                                       headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")])
            let tokenHeader = [("X-aws-ec2-metadata-token", token)]
            let roles = try await call(.GET, "/latest/meta-data/iam/security-credentials/", http: http, headers: tokenHeader)
            guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init) else {
                throw Failure("the instance has no IAM role")
            }
            let document = try await call(.GET, "/latest/meta-data/iam/security-credentials/" + role, http: http,
                                          headers: tokenHeader)
            guard let object = try? JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any],
                  let id = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String else {
                throw Failure("the role '\(role)' answered without credentials")
            }
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: object["Token"] as? String,
                                  expiration: AWSCredentialSource.date(object["Expiration"] as? String))
        } catch {
            throw AWSCredentialSource.noCredentials(tried: tried + ["instance metadata at \(endpoint) (\(error))"])
        }
    }

    private struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private func call(_ method: HTTPMethod, _ path: String, http: HTTPClient, headers: [(String, String)]) async throws -> String {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let body = try await response.body.collect(upTo: 64 << 10)
        guard response.status == .ok else { throw Failure("\(method) \(path) answered HTTP \(response.status.code)") }
        return String(buffer: body)
    }
}
