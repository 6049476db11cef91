/// A failure talking to AWS: a setting that is missing or wrong, an error AWS answered, or
/// a request that never got an answer. Its description says what to do and never holds a
/// secret (configuration errors name variables and files, not their values).
public struct AWSError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Credentials, region or endpoint are missing or unusable.
        case configuration
        /// AWS answered with an error document.
        case service
        /// No answer: connection refused, reset, timed out.
        case transport
    }

    public var kind: Kind
    /// AWS's error code (`AuthFailure`, `InvalidAMIID.NotFound`); nil for the other kinds.
    public var code: String?
    public var message: String
    /// What the user should do about it, when Pyre knows.
    public var advice: String?
    public var requestID: String?
    public var httpStatus: Int?
    /// `EC2 RunInstances`: which call failed.
    public var operation: String?

    public init(kind: Kind, code: String? = nil, message: String, advice: String? = nil,
                requestID: String? = nil, httpStatus: Int? = nil, operation: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.advice = advice
        self.requestID = requestID
        self.httpStatus = httpStatus
        self.operation = operation
    }

    static func configuration(_ message: String) -> AWSError {
        AWSError(kind: .configuration, message: message)
    }

    public var description: String {
        var text = operation.map { "\($0) failed: " } ?? ""
        if let code { text += "\(code): " }
        text += message
        if let requestID { text += " (request id \(requestID))" }
        if let advice { text += ". " + advice }
        return text
    }
}
