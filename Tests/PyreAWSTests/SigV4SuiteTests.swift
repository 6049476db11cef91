import Foundation
import Testing
@testable import PyreAWS

/// Every case of the AWS SigV4 test suite (aws-c-auth's `v4` set, Apache-2.0, copied into
/// Fixtures/aws-sigv4 with its LICENSE and NOTICE), signed both ways: in the `Authorization`
/// header and in the query string. Each checks the canonical request, the string to sign,
/// the signature and the whole signed request.
@Suite struct SigV4SuiteTests {
    @Test func theSuiteIsComplete() {
        #expect(SigV4Case.names.count == 38)
    }

    @Test(arguments: SigV4Case.names)
    func headerSigning(_ name: String) throws {
        let testCase = try SigV4Case(name)
        var request = try testCase.request()
        let result = testCase.signer.sign(&request, at: testCase.context.date)
        #expect(result.canonicalRequest == (try testCase.file("header-canonical-request.txt")))
        #expect(result.stringToSign == (try testCase.file("header-string-to-sign.txt")))
        #expect(result.signature == (try testCase.file("header-signature.txt")))
        #expect(SignedRequest(request) == (try SignedRequest(parsing: testCase.file("header-signed-request.txt"))))
    }

    @Test(arguments: SigV4Case.names)
    func querySigning(_ name: String) throws {
        let testCase = try SigV4Case(name)
        var request = try testCase.request()
        let result = testCase.signer.presign(&request, at: testCase.context.date,
                                             expires: testCase.context.expirationInSeconds)
        #expect(result.canonicalRequest == (try testCase.file("query-canonical-request.txt")))
        #expect(result.stringToSign == (try testCase.file("query-string-to-sign.txt")))
        #expect(result.signature == (try testCase.file("query-signature.txt")))
        #expect(SignedRequest(request) == (try SignedRequest(parsing: testCase.file("query-signed-request.txt"))))
    }
}

/// One case directory: `context.json`, `request.txt` and the expected results.
struct SigV4Case {
    struct Context: Decodable {
        struct Credentials: Decodable {
            var accessKeyID: String
            var secretAccessKey: String
            var token: String?

            enum CodingKeys: String, CodingKey {
                case accessKeyID = "access_key_id", secretAccessKey = "secret_access_key", token
            }
        }

        var credentials: Credentials
        var expirationInSeconds: Int
        var normalize: Bool
        var region: String
        var service: String
        var signBody: Bool
        var timestamp: String
        var omitSessionToken: Bool?

        enum CodingKeys: String, CodingKey {
            case credentials, normalize, region, service, timestamp
            case expirationInSeconds = "expiration_in_seconds", signBody = "sign_body"
            case omitSessionToken = "omit_session_token"
        }

        var date: Date { ISO8601DateFormatter().date(from: timestamp)! }
    }

    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("aws-sigv4")

    static let names: [String] = {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return entries.filter { !["LICENSE", "NOTICE"].contains($0) }.sorted()
    }()

    let name: String
    let context: Context

    init(_ name: String) throws {
        self.name = name
        context = try JSONDecoder().decode(Context.self, from: Data(contentsOf: Self.directory
            .appendingPathComponent(name).appendingPathComponent("context.json")))
    }

    var signer: SigV4Signer {
        var options = SigV4Signer.Options()
        options.normalizePath = context.normalize
        options.addContentHashHeader = context.signBody
        options.signSessionToken = !(context.omitSessionToken ?? false)
        let credentials = AWSCredentials(accessKeyID: context.credentials.accessKeyID,
                                         secretAccessKey: context.credentials.secretAccessKey,
                                         sessionToken: context.credentials.token)
        return SigV4Signer(credentials: credentials, region: context.region, service: context.service, options: options)
    }

    func file(_ file: String) throws -> String {
        try String(contentsOf: Self.directory.appendingPathComponent(name).appendingPathComponent(file), encoding: .utf8)
    }

    func request() throws -> SigV4Request {
        let parsed = try SignedRequest(parsing: file("request.txt"))
        let (path, query) = parsed.target.firstIndex(of: "?").map {
            (String(parsed.target[..<$0]), String(parsed.target[parsed.target.index(after: $0)...]))
        } ?? (parsed.target, "")
        return SigV4Request(method: parsed.method, path: path, query: query,
                            headers: parsed.headers.map { .init($0.name, $0.value) }, body: Array(parsed.body.utf8))
    }
}

/// A request in the suite's text form: `METHOD TARGET HTTP/1.1`, `Name:value` lines (a line
/// starting with white space continues the previous value), a blank line, the body. Header
/// names compare case-insensitively, as HTTP's do.
struct SignedRequest: Equatable, CustomStringConvertible {
    struct Header: Equatable {
        var name: String
        var value: String
        static func == (a: Header, b: Header) -> Bool { a.name.lowercased() == b.name.lowercased() && a.value == b.value }
    }

    struct Malformed: Error {}

    var method: String
    /// The target may hold spaces (the suite's unencoded paths), so it runs to the last space.
    var target: String
    var headers: [Header]
    var body: String

    init(_ request: SigV4Request) {
        method = request.method
        target = request.target
        headers = request.headers.map { Header(name: $0.name, value: $0.value) }
        body = String(decoding: request.body, as: UTF8.self)
    }

    init(parsing text: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst()
        guard let firstSpace = requestLine.firstIndex(of: " "), let lastSpace = requestLine.lastIndex(of: " "),
              firstSpace < lastSpace else { throw Malformed() }
        method = String(requestLine[..<firstSpace])
        target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])
        headers = []
        while let line = lines.first, !line.isEmpty {
            lines.removeFirst()
            if line.first == " " || line.first == "\t" {
                guard !headers.isEmpty else { throw Malformed() }
                headers[headers.count - 1].value += "\n" + line
            } else {
                guard let colon = line.firstIndex(of: ":") else { throw Malformed() }
                headers.append(Header(name: String(line[..<colon]), value: String(line[line.index(after: colon)...])))
            }
        }
        body = lines.dropFirst().joined(separator: "\n")
    }

    var description: String {
        "\(method) \(target)\n" + headers.map { "\($0.name):\($0.value)\n" }.joined() + "\n" + body
    }
}
