import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// An answer from AWS with a 2xx status.
public struct AWSResponse: Sendable {
    public var status: Int
    public var requestID: String?
    public var body: Data
}

/// Sends signed requests to AWS services (or to the endpoint that overrides them), parses
/// error answers into ``AWSError`` and retries what its ``Retrier`` allows. Each try is
/// signed anew, so a retry after a long backoff does not carry a stale date.
public struct AWSClient: Sendable {
    public var configuration: AWSConfiguration
    public var retrier: Retrier
    var http: HTTPClient
    var logger: Logger
    var now: @Sendable () -> Date
    var timeout: TimeAmount = .seconds(30)
    /// What ``AWSConfiguration/credentialSource`` last gave, shared by the client's copies.
    private let credentialCache = AWSCredentialCache()

    public init(configuration: AWSConfiguration, httpClient: HTTPClient = .shared, logger: Logger,
                retrier: Retrier = Retrier(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.http = httpClient
        self.logger = logger
        self.retrier = retrier
        self.now = now
    }

    /// A Query-protocol call (EC2, IAM): `Action`, `Version` and the parameters as a form
    /// posted to the service's root; returns the answer's XML.
    public func query(_ service: AWSService, action: String, version: String,
                      parameters: [(String, String)] = []) async throws -> XMLTree {
        // Spaces as `+`, as form encoding and botocore write them (moto re-encodes the form so
        // to check its signature).
        func encode(_ text: String) -> String { PercentEncoding.encode(text).replacingOccurrences(of: "%20", with: "+") }
        let form = ([("Action", action), ("Version", version)] + parameters)
            .map { "\(encode($0.0))=\(encode($0.1))" }
            .joined(separator: "&")
        let response = try await send(service, operation: action, method: "POST", path: "/",
                                      headers: [.init("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                                      body: Array(form.utf8))
        return try xml(response, service: service, operation: action)
    }

    /// Parses a 2xx answer's body as XML.
    func xml(_ response: AWSResponse, service: AWSService, operation: String) throws -> XMLTree {
        guard let tree = XMLTree(parsing: response.body) else {
            throw AWSError(kind: .service, message: "the answer is not XML", requestID: response.requestID,
                           httpStatus: response.status, operation: "\(service.displayName) \(operation)")
        }
        return tree
    }

    /// Signs and sends one request, retrying as the policy allows. Throws ``AWSError`` for an
    /// error answer or when no answer comes.
    /// `unsignedPayload`: sign `UNSIGNED-PAYLOAD` rather than the body's hash, where the API
    /// allows it because a signed header already covers the body.
    public func send(_ service: AWSService, operation: String, method: String, path: String, query: String = "",
                     headers: [SigV4Request.Header] = [], body: [UInt8] = [], unsignedPayload: Bool = false) async throws
        -> AWSResponse {
        let endpoint = try Endpoint(configuration.endpoint(for: service), service: service)
        var options = SigV4Signer.Options()
        options.unsignedPayload = unsignedPayload
        let signer = SigV4Signer(credentials: try await credentials(),
                                 region: service.signingRegion(configuration.region), service: service.signingName,
                                 options: options)
        let name = "\(service.displayName) \(operation)"
        return try await retrier.run { attempt in
            var request = SigV4Request(method: method, path: endpoint.basePath + path, query: query,
                                       headers: [.init("Host", endpoint.hostHeader)] + headers, body: body)
            signer.sign(&request, at: now())
            let response = try await execute(request, endpoint: endpoint, operation: name)
            logger.debug("AWS call", metadata: [
                "operation": "\(name)", "status": "\(response.status)", "attempt": "\(attempt)",
                "request_id": "\(response.requestID ?? "-")",
            ])
            return response
        }
    }

    /// The configuration's keys, or what its source gives, fetched again shortly before expiry.
    func credentials() async throws -> AWSCredentials {
        if let source = configuration.credentialSource {
            return try await credentialCache.credentials(from: source, http: http, now: now())
        }
        guard let credentials = configuration.credentials else {
            throw AWSError.configuration("no AWS credentials configured: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        return credentials
    }

    private func execute(_ signed: SigV4Request, endpoint: Endpoint, operation: String) async throws -> AWSResponse {
        var request = HTTPClientRequest(url: endpoint.origin + signed.target)
        request.method = HTTPMethod(rawValue: signed.method)
        for header in signed.headers {
            request.headers.add(name: header.name, value: header.value)
        }
        request.body = .bytes(ByteBuffer(bytes: signed.body))
        let status: Int
        let requestID: String?
        let body: Data
        do {
            let response = try await http.execute(request, timeout: timeout, logger: logger)
            status = Int(response.status.code)
            requestID = response.headers.first(name: "x-amzn-RequestId") ?? response.headers.first(name: "x-amz-request-id")
            body = Data(try await response.body.collect(upTo: 32 << 20).readableBytesView)
        } catch let error as CancellationError {
            throw error
        } catch {
            throw AWSError(kind: .transport, message: "no answer from \(endpoint.origin): \(error)", operation: operation)
        }
        guard (200..<300).contains(status) else {
            let error = AWSErrorParser.parse(status: status, body: body, headerRequestID: requestID, operation: operation)
            logger.debug("AWS error", metadata: ["operation": "\(operation)", "error": "\(error)"])
            throw error
        }
        return AWSResponse(status: status, requestID: requestID, body: body)
    }
}

/// A service's base URL, split the way signing and sending need it.
struct Endpoint {
    /// `scheme://host[:port]`
    var origin: String
    var hostHeader: String
    /// A path prefix the URL carries (usually empty), without a trailing slash.
    var basePath: String

    init(_ text: String, service: AWSService) throws {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty else {
            throw AWSError.configuration("the \(service.displayName) endpoint '\(text)' is not an http(s) URL: fix "
                + "AWS_ENDPOINT_URL_\(service.endpointVariableSuffix), AWS_ENDPOINT_URL or the profile's endpoint_url")
        }
        let defaultPort = scheme == "https" ? 443 : 80
        let hostText = host.contains(":") ? "[\(host)]" : host
        hostHeader = url.port.map { $0 == defaultPort ? hostText : "\(hostText):\($0)" } ?? hostText
        origin = "\(scheme)://\(hostHeader)"
        basePath = url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
    }
}
