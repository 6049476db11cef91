import Foundation
import PyreCore
import Logging
import PyreAWS
import PyrePOSIX
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real `moto_server` (PyPI `moto[server]`, which scripts/test installs) on 127.0.0.1 with
/// AWS authentication on: the first ``setupCalls`` requests create an IAM user with an
/// allow-all policy and an access key, and from then on moto checks every request's SigV4
/// signature against that key, so a badly signed request is rejected by moto itself.
/// RunInstances accepts only AMIs moto knows (its built-in Amazon images).
///
/// One server per test process, as moto takes seconds to start: tests share it, so each
/// uses names of its own (tag values, zone names) and looks only at what it made.
public struct MotoServer: Sendable {
    /// `http://127.0.0.1:PORT`
    public let endpoint: String
    public let region = "us-east-1"
    /// The IAM user's access key.
    public let credentials: AWSCredentials

    /// CreateUser, PutUserPolicy, CreateAccessKey: the requests moto serves unauthenticated.
    static let setupCalls = 3

    /// The process's server, started on first use; it is killed when the process ends.
    public static func shared() async throws -> MotoServer {
        try await starting.value
    }

    /// A server of its own, in moto's initial state (benchmarks compare two clients on equal
    /// footing); it is killed when the process ends.
    public static func startFresh() async throws -> MotoServer {
        let endpoint = try await MotoProcess.start(unauthenticatedCalls: setupCalls)
        return try await MotoServer(endpoint: endpoint, logger: Logger(label: "pyre.moto"))
    }

    private static let starting = Task {
        let endpoint = try await MotoProcess.start(unauthenticatedCalls: setupCalls)
        return try await MotoServer(endpoint: endpoint, logger: Logger(label: "pyre.moto"))
    }

    private init(endpoint: String, logger: Logger) async throws {
        self.endpoint = endpoint
        // Signed like any call, though moto does not check these three: it has no key yet.
        // One try each: a retry would use up one of the unauthenticated calls.
        let setup = AWSClient(configuration: AWSConfiguration(
            credentials: AWSCredentials(accessKeyID: "AKIDPYRESETUP", secretAccessKey: "setup"),
            region: region, endpoint: endpoint), logger: logger, retrier: Retrier(policy: RetryPolicy(maxAttempts: 1)))
        let user = "pyre-test"
        let version = "2010-05-08"
        _ = try await setup.query(.iam, action: "CreateUser", version: version, parameters: [("UserName", user)])
        _ = try await setup.query(.iam, action: "PutUserPolicy", version: version, parameters: [
            ("UserName", user), ("PolicyName", "allow-all"),
            ("PolicyDocument", #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
        ])
        let key = try await setup.query(.iam, action: "CreateAccessKey", version: version,
                                        parameters: [("UserName", user)])
        guard let id = key[path: "CreateAccessKeyResult", "AccessKey", "AccessKeyId"]?.text,
              let secret = key[path: "CreateAccessKeyResult", "AccessKey", "SecretAccessKey"]?.text else {
            throw MotoServerError("moto's CreateAccessKey answer has no access key")
        }
        credentials = AWSCredentials(accessKeyID: id, secretAccessKey: secret)
    }

    /// The `AWS_*` variables that point a process (the pyre CLI, boto3) at this server as the IAM user.
    public var environment: [String: String] {
        ["AWS_ACCESS_KEY_ID": credentials.accessKeyID, "AWS_SECRET_ACCESS_KEY": credentials.secretAccessKey,
         "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_ENDPOINT_URL": endpoint]
    }

    /// The ids of the Amazon AMIs moto ships, in moto's order, asked for once per server. Rendering
    /// all of them takes moto seconds of CPU under its interpreter lock: a dozen tests asking at once
    /// on a loaded machine timed out, and their retries put moto minutes behind.
    public func amazonAMIs() async throws -> [String] {
        let endpoint = endpoint, configuration = configuration()
        let listing = Self.amazonAMIListings.withLock { listings in
            if let listing = listings[endpoint] { return listing }
            let listing = Task {
                let client = AWSClient(configuration: configuration, logger: Logger(label: "pyre.moto"))
                return try await client.query(.ec2, action: "DescribeImages", version: EC2.apiVersion,
                                              parameters: [("Owner.1", "amazon")])["imagesSet"]?
                    .all("item").compactMap { $0["imageId"]?.text } ?? []
            }
            listings[endpoint] = listing
            return listing
        }
        return try await listing.value
    }

    private static let amazonAMIListings = Mutex<[String: Task<[String], any Error>]>([:])

    /// Settings that reach this server with `credentials` (the IAM user's by default).
    public func configuration(credentials: AWSCredentials? = nil) -> AWSConfiguration {
        AWSConfiguration(credentials: credentials ?? self.credentials, region: region, endpoint: endpoint)
    }
}

public struct MotoServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Starts moto's server in a child process. A watchdog shell kills it, and removes its log,
/// when the test process ends, however it ends.
enum MotoProcess {
    /// Starts moto on a free port of 127.0.0.1 and returns `http://127.0.0.1:PORT`.
    static func start(unauthenticatedCalls: Int) async throws -> String {
        var lastFailure = ""
        for _ in 0..<3 {
            let port = try freeLoopbackPort()
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-moto-\(port).log")
            let pid = try spawn(port: port, log: log, unauthenticatedCalls: unauthenticatedCalls)
            if try await waitUntilListening(pid: pid, port: port, log: log) {
                return "http://127.0.0.1:\(port)"
            }
            // moto exited: most likely another process took the port between our probe and its bind.
            lastFailure = tail(of: log)
        }
        throw MotoServerError("moto_server did not start (is moto[server] installed? scripts/test installs it):\n\(lastFailure)")
    }

    /// True once moto accepts connections; false if it exited first. Gives up after a minute:
    /// importing moto on a loaded machine takes seconds.
    private static func waitUntilListening(pid: pid_t, port: Int, log: URL) async throws -> Bool {
        for _ in 0..<1200 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return false }
            if accepts(port: port) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(pid, SIGKILL)
        throw MotoServerError("moto_server did not listen within a minute:\n\(tail(of: log))")
    }

    private static func tail(of log: URL) -> String {
        String(((try? String(contentsOf: log, encoding: .utf8)) ?? "").suffix(2_000))
    }

    /// Runs moto's own `main` after fixing one bug in its signature check: for a request without
    /// a body it hashes the parsed parameters (for Route 53 a GET's headers, for EBS the path's)
    /// as if they were the body, so it rejects every correctly signed such request, boto3's
    /// included. Its body is empty; only a form (the Query APIs) is parsed into parameters that
    /// were the body.
    static let launcher = """
        import sys
        from moto.iam import access_control
        from moto.server import main

        original = access_control.IAMRequestBase._create_aws_request

        def _create_aws_request(self):
            data = self._data
            form = str(self._headers.get("Content-Type", "")).startswith("application/x-www-form-urlencoded")
            if not self._body and not form:
                self._data = b""
            try:
                return original(self)
            finally:
                self._data = data

        access_control.IAMRequestBase._create_aws_request = _create_aws_request
        main(sys.argv[1:])
        """

    private static func spawn(port: Int, log: URL, unauthenticatedCalls: Int) throws -> pid_t {
        let arguments = ["python3", "-c", launcher, "-H", "127.0.0.1", "-p", "\(port)"]
        var environment = ProcessInfo.processInfo.environment
        environment["INITIAL_NO_AUTH_ACTION_COUNT"] = "\(unauthenticatedCalls)"
        // Unknown AMIs fail as on AWS (InvalidAMIID.NotFound) instead of being accepted.
        environment["MOTO_ENABLE_AMI_VALIDATION"] = "true"
        let pid = try ProcessSpawner.spawn(arguments, environment: environment,
                                           output: .files(stdout: log.path, stderr: log.path))
        try watch(pid, log: log)
        return pid
    }

    /// A detached shell that kills moto and removes its log once this process is gone.
    private static func watch(_ child: pid_t, log: URL) throws {
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        watchdog.arguments = ["/bin/sh", "-c", """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 0.5; done
            kill -KILL \(child) 2>/dev/null
            rm -f '\(log.path)'
            """]
        watchdog.standardInput = FileHandle.nullDevice
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
    }

    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }
}
