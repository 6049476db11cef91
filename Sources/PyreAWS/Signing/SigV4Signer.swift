import Crypto
import Foundation

/// AWS Signature Version 4 (HMAC-SHA256), in an `Authorization` header or in the query
/// string (a presigned request).
public struct SigV4Signer: Sendable {
    public struct Options: Sendable {
        /// Resolve `.`/`..` and repeated slashes in the path first (every service but S3).
        public var normalizePath = true
        /// Also send and sign `X-Amz-Content-SHA256` (S3 wants it; the Query APIs do not).
        public var addContentHashHeader = false
        /// Sign `UNSIGNED-PAYLOAD` (sent as `X-Amz-Content-SHA256`) instead of the body's hash,
        /// for calls whose body another signed header covers (EBS PutSnapshotBlock's checksum).
        public var unsignedPayload = false
        /// When false the session token is added after signing, outside the signature, as
        /// a few services (IoT's MQTT over websockets, for one) require.
        public var signSessionToken = true

        public init() {}
    }

    public var credentials: AWSCredentials
    public var region: String
    public var service: String
    public var options: Options

    public init(credentials: AWSCredentials, region: String, service: String, options: Options = Options()) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.options = options
    }

    /// Adds `X-Amz-Security-Token` (when there is a token), `X-Amz-Date`, optionally
    /// `X-Amz-Content-SHA256`, and `Authorization` to `request`.
    @discardableResult
    public func sign(_ request: inout SigV4Request, at date: Date) -> SigV4Signature {
        let time = AMZTime(date)
        let payloadHash = options.unsignedPayload ? "UNSIGNED-PAYLOAD" : Self.hex(SHA256.hash(data: request.body))
        var signed = request.headers
        var added: [SigV4Request.Header] = []
        if let token = credentials.sessionToken {
            let header = SigV4Request.Header("X-Amz-Security-Token", token)
            added.append(header)
            if options.signSessionToken { signed.append(header) }
        }
        let dateHeader = SigV4Request.Header("X-Amz-Date", time.timestamp)
        added.append(dateHeader)
        signed.append(dateHeader)
        if options.addContentHashHeader || options.unsignedPayload {
            let header = SigV4Request.Header("X-Amz-Content-SHA256", payloadHash)
            added.append(header)
            signed.append(header)
        }
        let result = signature(method: request.method, path: request.path,
                               query: CanonicalRequest.parameters(of: request.query),
                               headers: signed, payloadHash: payloadHash, time: time)
        added.append(.init("Authorization", "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(result.credentialScope), "
            + "SignedHeaders=\(result.signedHeaders), Signature=\(result.signature)"))
        request.headers += added
        return result
    }

    /// Adds the `X-Amz-*` signing parameters and `X-Amz-Signature` to the query string, so
    /// the request is valid for `expires` seconds without an `Authorization` header.
    @discardableResult
    public func presign(_ request: inout SigV4Request, at date: Date, expires: Int) -> SigV4Signature {
        let time = AMZTime(date)
        let (_, signedHeaders) = CanonicalRequest.headers(request.headers)
        var parameters: [(name: String, value: String)] = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(time))"),
            ("X-Amz-Date", time.timestamp),
            ("X-Amz-SignedHeaders", signedHeaders),
            ("X-Amz-Expires", String(expires)),
        ]
        let token = credentials.sessionToken.map { (name: "X-Amz-Security-Token", value: $0) }
        if let token, options.signSessionToken { parameters.append(token) }
        let result = signature(method: request.method, path: request.path,
                               query: CanonicalRequest.parameters(of: request.query) + parameters,
                               headers: request.headers, payloadHash: Self.hex(SHA256.hash(data: request.body)),
                               time: time)
        if let token, !options.signSessionToken { parameters.append(token) }
        parameters.append(("X-Amz-Signature", result.signature))
        let added = parameters.map { "\(PercentEncoding.encode($0.name))=\(PercentEncoding.encode($0.value))" }
        request.query = ([request.query].filter { !$0.isEmpty } + added).joined(separator: "&")
        return result
    }

    private func signature(method: String, path: String, query: [(name: String, value: String)],
                           headers: [SigV4Request.Header], payloadHash: String, time: AMZTime) -> SigV4Signature {
        let (headerBlock, signedHeaders) = CanonicalRequest.headers(headers)
        let canonicalRequest = [
            method,
            CanonicalRequest.uri(path, normalize: options.normalizePath),
            CanonicalRequest.query(query),
            headerBlock,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let credentialScope = scope(time)
        let stringToSign = [
            "AWS4-HMAC-SHA256",
            time.timestamp,
            credentialScope,
            Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(time)))
        return SigV4Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
                              signedHeaders: signedHeaders, credentialScope: credentialScope)
    }

    private func scope(_ time: AMZTime) -> String {
        "\(time.day)/\(region)/\(service)/aws4_request"
    }

    /// HMAC chain secret → date → region → service → "aws4_request".
    private func signingKey(_ time: AMZTime) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [time.day, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return key
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// A signing time in SigV4's two forms, UTC.
struct AMZTime {
    /// `20150830T123600Z`
    var timestamp: String
    /// `20150830`
    var day: String

    init(_ date: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        day = String(format: "%04d", parts.year ?? 0) + two(parts.month) + two(parts.day)
        timestamp = day + "T" + two(parts.hour) + two(parts.minute) + two(parts.second) + "Z"
    }
}
