import Foundation
import Testing
@testable import PyreAWS

@Suite struct AWSErrorParserTests {
    @Test func ec2ErrorDocument() {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Response><Errors><Error><Code>InvalidAMIID.NotFound</Code><Message>The image id '[ami-12345678]' does not exist</Message></Error></Errors><RequestID>59dbff89-35bd-4eac-99ed-be587EXAMPLE</RequestID></Response>
            """
        let error = AWSErrorParser.parse(status: 400, body: Data(body.utf8), headerRequestID: nil,
                                         operation: "EC2 RunInstances")
        #expect(error.kind == .service)
        #expect(error.code == "InvalidAMIID.NotFound")
        #expect(error.message == "The image id '[ami-12345678]' does not exist")
        #expect(error.requestID == "59dbff89-35bd-4eac-99ed-be587EXAMPLE")
        #expect(error.httpStatus == 400)
        #expect(error.description.hasPrefix("EC2 RunInstances failed: InvalidAMIID.NotFound: The image id"))
        #expect(error.description.contains("pyre bake"))
        #expect(error.description.contains("region"))
    }

    @Test func route53ErrorDocument() {
        let body = """
            <?xml version="1.0"?>
            <ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error><RequestId>a7b1c2d3</RequestId></ErrorResponse>
            """
        let error = AWSErrorParser.parse(status: 403, body: Data(body.utf8), headerRequestID: "from-header",
                                         operation: "Route 53 ChangeResourceRecordSets")
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.requestID == "a7b1c2d3")
        #expect(error.description.contains("Check the AWS credentials"))
    }

    @Test func errorResponseWithAnErrorsList() {
        // How moto (and IAM's older form) wraps it: <ErrorResponse><Errors><Error>.
        let body = """
            <?xml version="1.0" encoding="utf-8"?>
            <ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message><Type>Sender</Type></Error></Errors></ErrorResponse>
            """
        let error = AWSErrorParser.parse(status: 403, body: Data(body.utf8), headerRequestID: "hdr-2",
                                         operation: "Route 53 GetChange")
        #expect(error.code == "InvalidClientTokenId")
        #expect(error.requestID == "hdr-2")
    }

    @Test(arguments: ["AuthFailure", "SignatureDoesNotMatch", "InvalidClientTokenId"])
    func authenticationCodesPointAtCredentials(_ code: String) {
        #expect(AWSErrorParser.advice(for: code)?.contains("AWS_SECRET_ACCESS_KEY") == true)
    }

    @Test func bodyThatIsNotXMLStillGivesStatusAndHeaderRequestID() {
        let error = AWSErrorParser.parse(status: 503, body: Data("Service Unavailable".utf8),
                                         headerRequestID: "hdr-1", operation: "EC2 DescribeInstances")
        #expect(error.code == nil)
        #expect(error.httpStatus == 503)
        #expect(error.requestID == "hdr-1")
        #expect(error.message == "HTTP 503: Service Unavailable")
    }

    @Test func unknownCodeHasNoAdvice() {
        let body = "<Response><Errors><Error><Code>Odd</Code><Message>m</Message></Error></Errors></Response>"
        let error = AWSErrorParser.parse(status: 400, body: Data(body.utf8), headerRequestID: nil, operation: "EC2 X")
        #expect(error.advice == nil)
        #expect(error.description == "EC2 X failed: Odd: m")
    }
}
