/// An HTTP request as the SigV4 signer sees it, and as it is sent once signed.
public struct SigV4Request: Sendable, Equatable {
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var method: String
    /// The path as sent. The signer percent-encodes it once more for the canonical request,
    /// which is the rule for every service except S3.
    public var path: String
    /// The query string as sent, without the `?`.
    public var query: String
    /// In order; a name may repeat. Must include `Host`.
    public var headers: [Header]
    public var body: [UInt8]

    public init(method: String, path: String, query: String = "", headers: [Header], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The path and query as they go on the request line.
    public var target: String { query.isEmpty ? path : path + "?" + query }
}

/// The intermediate forms of one signature, kept so they can be checked and logged
/// (none of them contains the secret key).
public struct SigV4Signature: Sendable, Equatable {
    public var canonicalRequest: String
    public var stringToSign: String
    /// Lower-case hex HMAC-SHA256.
    public var signature: String
    /// `host;x-amz-date`: the names the signature covers.
    public var signedHeaders: String
    /// `DATE/REGION/SERVICE/aws4_request`.
    public var credentialScope: String
}
