import Foundation

/// Turns an AWS error answer into an ``AWSError``. Understands EC2's
/// `<Response><Errors><Error>…</Errors><RequestID>`, the `<ErrorResponse><Error>…<RequestId>`
/// of Route 53, IAM and the other Query/REST-XML services, and `<ErrorResponse><Errors><Error>`.
enum AWSErrorParser {
    static func parse(status: Int, body: Data, headerRequestID: String?, operation: String) -> AWSError {
        let tree = XMLTree(parsing: body)
        let error = tree?[path: "Errors", "Error"] ?? tree?["Error"]
        let requestID = [tree?["RequestID"], tree?["RequestId"], error?["RequestId"]]
            .compactMap { $0?.text }.first { !$0.isEmpty } ?? headerRequestID
        guard let error, let code = error["Code"]?.text, !code.isEmpty else {
            let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return AWSError(kind: .service, message: "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)"),
                            advice: status >= 500 ? "AWS had a problem; try again later" : nil,
                            requestID: requestID, httpStatus: status, operation: operation)
        }
        return AWSError(kind: .service, code: code, message: error["Message"]?.text ?? "",
                        advice: advice(for: code), requestID: requestID, httpStatus: status, operation: operation)
    }

    /// What to do about the codes a Pyre user is likely to meet.
    static func advice(for code: String) -> String? {
        switch code {
        case "AuthFailure", "SignatureDoesNotMatch", "InvalidClientTokenId", "InvalidAccessKeyId",
             "UnrecognizedClientException", "IncompleteSignature", "MissingAuthenticationToken":
            return "Check the AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the profile "
                + "(AWS_PROFILE) in ~/.aws/credentials"
        case "ExpiredToken", "RequestExpired", "RequestTimeTooSkewed":
            return "The credentials or the request expired: refresh the session token and check this machine's clock"
        case "UnauthorizedOperation", "AccessDenied", "AccessDeniedException":
            return "The credentials are valid but not allowed this call: grant it to the IAM user or role"
        case "InvalidAMIID.NotFound", "InvalidAMIID.Malformed", "InvalidAMIID.Unavailable":
            return "The image's AMI does not exist in this region: bake it for this region (pyre bake) "
                + "or name an AMI of this region in pyre.yml"
        case "InvalidKeyPair.NotFound", "InvalidSubnetID.NotFound", "InvalidGroup.NotFound":
            return "pyre.yml names an EC2 resource that does not exist in this region: fix the name or the region"
        case "InstanceLimitExceeded", "VcpuLimitExceeded", "InsufficientInstanceCapacity":
            return "EC2 cannot start that many instances: lower the service's count, pick another instance type, "
                + "or ask AWS for a higher limit"
        default:
            return nil
        }
    }
}
