import Crypto
import Foundation
import Logging
import PyreTesting
import Testing
@testable import PyreAWS

/// The sources of credentials that expire: a profile's credential_process, its SSO login, and
/// the instance metadata service (moto's, on loopback), each asked through a client as a call
/// would ask it; and the order the SDKs take them in.
@Suite final class AWSCredentialSourceTests {
    let home: URL

    init() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-aws-sources-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".aws/sso/cache"),
                                                withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: home)
    }

    func write(_ text: String, to name: String) throws {
        try text.write(to: home.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// No instance metadata unless a test serves it: nothing may leave loopback.
    func resolve(_ variables: [String: String] = [:]) throws -> AWSConfiguration {
        try AWSConfiguration.resolve(environment: ["HOME": home.path, "AWS_REGION": "eu-west-1",
                                                   "AWS_EC2_METADATA_DISABLED": "true"].merging(variables) { $1 })
    }

    func credentials(_ configuration: AWSConfiguration) async throws -> AWSCredentials {
        try await AWSClient(configuration: configuration, logger: Logger(label: "test")).credentials()
    }

    /// A command that prints `json` and counts its runs in `runs`.
    func process(printing json: String, status: Int = 0) throws -> String {
        try write("echo run >> \(home.path)/runs\necho 'said on stderr' >&2\ncat <<'END'\n\(json)\nEND\nexit \(status)\n",
                  to: "process.sh")
        return "sh \(home.path)/process.sh"
    }

    var runs: Int {
        ((try? String(contentsOf: home.appendingPathComponent("runs"), encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    @Test func credentialProcessIsRunAtTheFirstCallAndAgainOnlyNearExpiry() async throws {
        let later = Date().addingTimeInterval(3600).formatted(.iso8601)
        let command = try process(printing: """
            {"Version": 1, "AccessKeyId": "PROCKEY", "SecretAccessKey": "procsecret", "SessionToken": "proctoken",
             "Expiration": "\(later)"}
            """)
        try write("[default]\ncredential_process = \(command)\n", to: ".aws/config")
        let configuration = try resolve()
        #expect(configuration.credentials == nil && configuration.credentialSource == .process(command: command, profile: "default"))
        #expect(runs == 0)
        let client = AWSClient(configuration: configuration, logger: Logger(label: "test"))
        let first = try await client.credentials()
        #expect(first.accessKeyID == "PROCKEY" && first.secretAccessKey == "procsecret" && first.sessionToken == "proctoken")
        #expect(first.expiration?.formatted(.iso8601) == later)
        _ = try await client.credentials()
        #expect(runs == 1)

        // Credentials that expire within the refresh margin are fetched again at each call.
        let soon = Date().addingTimeInterval(60).formatted(.iso8601)
        _ = try process(printing: #"{"Version": 1, "AccessKeyId": "K", "SecretAccessKey": "S", "Expiration": "\#(soon)"}"#)
        let refreshing = AWSClient(configuration: configuration, logger: Logger(label: "test"))
        _ = try await refreshing.credentials()
        _ = try await refreshing.credentials()
        #expect(runs == 3)
    }

    @Test func aFailingOrGarbledProcessSaysWhatWentWrongWithoutItsOutput() async throws {
        try write("[default]\ncredential_process = \(try process(printing: #"{"SecretAccessKey": "leaked"}"#, status: 3))\n",
                  to: ".aws/config")
        let failed = await #expect(throws: AWSError.self) { try await self.credentials(try self.resolve()) }
        #expect(failed?.description.contains("exited with status 3: said on stderr") == true)
        _ = try process(printing: #"{"Version": 1, "SecretAccessKey": "leaked"}"#)
        let garbled = await #expect(throws: AWSError.self) { try await self.credentials(try self.resolve()) }
        #expect(garbled?.description.contains("printed no AccessKeyId and SecretAccessKey") == true)
        #expect(garbled?.description.contains("leaked") == false)
    }

    @Test func ssoLoginIsExchangedAtThePortalForTheRolesCredentials() async throws {
        let portal = try FakeSSOPortal(token: "cached-access-token", directory: home)
        defer { portal.stop() }
        try write("""
            [profile dev]
            sso_session = corp
            sso_account_id = 123456789012
            sso_role_name = Deployer
            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = eu-west-1
            """, to: ".aws/config")
        let cacheKey = Insecure.SHA1.hash(data: Data("corp".utf8)).map { String(format: "%02x", $0) }.joined()
        func cache(token: String, expiresAt: Date) throws {
            try write(#"{"accessToken": "\#(token)", "expiresAt": "\#(expiresAt.formatted(.iso8601))"}"#,
                      to: ".aws/sso/cache/\(cacheKey).json")
        }
        let variables = ["AWS_PROFILE": "dev", "AWS_ENDPOINT_URL_SSO": try await portal.url()]

        try cache(token: "cached-access-token", expiresAt: Date().addingTimeInterval(3600))
        let role = try await credentials(try resolve(variables))
        #expect(role.accessKeyID == "SSOKEY" && role.secretAccessKey == "ssosecret" && role.sessionToken == "ssotoken")
        #expect(role.expiration == Date(timeIntervalSince1970: 4_102_444_800))
        #expect(try portal.requests() == ["/federation/credentials?account_id=123456789012&role_name=Deployer"])

        try cache(token: "cached-access-token", expiresAt: Date().addingTimeInterval(-60))
        let expired = await #expect(throws: AWSError.self) { try await self.credentials(try self.resolve(variables)) }
        #expect(expired?.description.contains("aws sso login --profile dev") == true)
        try cache(token: "some-other-token", expiresAt: Date().addingTimeInterval(3600))
        let refused = await #expect(throws: AWSError.self) { try await self.credentials(try self.resolve(variables)) }
        #expect(refused?.description.contains("HTTP 401") == true)
    }

    @Test func instanceMetadataGivesTheRolesCredentialsThroughASessionToken() async throws {
        let moto = try await MotoServer.shared()
        // moto answers the other tests meanwhile: more time than off an instance.
        let configuration = try resolve(["AWS_EC2_METADATA_DISABLED": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": moto.endpoint,
                                         "AWS_METADATA_SERVICE_TIMEOUT": "30"])
        #expect(configuration.credentialSource.map { if case .instanceMetadata = $0 { true } else { false } } == true)
        let role = try await credentials(configuration)
        #expect(role.accessKeyID == "test-key" && role.secretAccessKey == "test-secret-key"
            && role.sessionToken == "test-session-token")
        #expect(role.expiration.map { $0 > Date().addingTimeInterval(3600) } == true)
    }

    @Test func whenNothingAnswersTheErrorNamesEverySourceTried() async throws {
        try write("[default]\nregion = eu-west-1\n", to: ".aws/config")
        let closed = try freeLoopbackPort()
        let configuration = try resolve(["AWS_EC2_METADATA_DISABLED": "",
                                         "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(closed)"])
        let error = await #expect(throws: AWSError.self) { try await self.credentials(configuration) }
        let message = error?.description ?? ""
        for source in ["AWS_ACCESS_KEY_ID", "SSO settings", "credentials", "credential_process", "config",
                       "instance metadata at http://127.0.0.1:\(closed)"] {
            #expect(message.contains(source), "\(source) in \(message)")
        }
    }

    @Test func sourcesAreTakenInTheSDKsOrder() throws {
        let command = try process(printing: "{}")
        try write("[default]\naws_access_key_id = CREDKEY\naws_secret_access_key = s\ncredential_process = \(command)\n",
                  to: ".aws/credentials")
        try write("""
            [default]
            aws_access_key_id = CONFKEY
            aws_secret_access_key = s
            sso_account_id = 1
            sso_role_name = R
            sso_start_url = https://corp.awsapps.com/start
            sso_region = eu-west-1
            """, to: ".aws/config")
        #expect(try resolve(["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "s"]).credentials?.accessKeyID == "ENVKEY")
        guard case .singleSignOn(let signOn)? = try resolve().credentialSource else {
            Issue.record("SSO comes before the files' keys")
            return
        }
        #expect(signOn.tokenFile.hasSuffix(Insecure.SHA1.hash(data: Data("https://corp.awsapps.com/start".utf8))
            .map { String(format: "%02x", $0) }.joined() + ".json"))
        try write("[default]\naws_access_key_id = CONFKEY\naws_secret_access_key = s\ncredential_process = \(command)\n",
                  to: ".aws/config")
        #expect(try resolve().credentials?.accessKeyID == "CREDKEY")
        try write("[default]\ncredential_process = \(command)\n", to: ".aws/credentials")
        #expect(try resolve().credentialSource == .process(command: command, profile: "default"))
        try write("[other]\n", to: ".aws/credentials")
        #expect(try resolve().credentialSource == .process(command: command, profile: "default"))
        try write("[default]\naws_access_key_id = CONFKEY\naws_secret_access_key = s\n", to: ".aws/config")
        #expect(try resolve().credentials?.accessKeyID == "CONFKEY")
    }
}

/// The SSO portal's GetRoleCredentials on loopback (Python's http.server), answering only the
/// bearer token it was given, recording each request's path.
struct FakeSSOPortal {
    let process: Process
    let input = Pipe()
    let directory: URL

    init(token: String, directory: URL) throws {
        self.directory = directory
        let script = directory.appendingPathComponent("portal.py")
        try """
            import http.server, json, os, sys, threading
            # Ends when the test closes its input, or ends itself.
            threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
            class Portal(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    with open(sys.argv[1] + "/requests", "a") as log:
                        log.write(self.path + "\\n")
                    if self.headers.get("x-amz-sso_bearer_token") != \(String(reflecting: token)):
                        self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers()
                        return
                    body = json.dumps({"roleCredentials": {"accessKeyId": "SSOKEY", "secretAccessKey": "ssosecret",
                                       "sessionToken": "ssotoken", "expiration": 4102444800000}}).encode()
                    self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(("127.0.0.1", 0), Portal)
            with open(sys.argv[1] + "/port.tmp", "w") as f:
                f.write(str(server.server_address[1]))
            os.rename(sys.argv[1] + "/port.tmp", sys.argv[1] + "/port")
            server.serve_forever()
            """.write(to: script, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, directory.path]
        process.standardInput = input
        try process.run()
    }

    func url() async throws -> String {
        for _ in 0..<200 {
            if let port = try? String(contentsOf: directory.appendingPathComponent("port"), encoding: .utf8) {
                return "http://127.0.0.1:\(port)"
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw AWSError.configuration("the fake SSO portal did not start")
    }

    func requests() throws -> [String] {
        try String(contentsOf: directory.appendingPathComponent("requests"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
    }

    /// Closes the portal's input, which ends it: python3 may be a wrapper's child, out of reach
    /// of a signal to the process started here.
    func stop() {
        try? input.fileHandleForWriting.close()
    }
}
