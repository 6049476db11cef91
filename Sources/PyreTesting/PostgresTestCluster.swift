import Foundation
import PyreCore
import PyrePOSIX

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL server for tests, one per test process: `initdb` into a temporary
/// directory, listening on 127.0.0.1 (a free port) and on a unix socket inside that directory,
/// with fsync on. The superuser ``superuser`` needs no password; any role a test creates with
/// a password must give it over TCP. A watchdog stops the server (immediate shutdown) and
/// removes the directory as soon as the test process ends, however it ends.
///
/// PostgreSQL refuses to run as root, so under root the server runs as the `postgres` user.
public final class PostgresTestCluster: Sendable {
    public let directory: URL
    public let port: Int
    /// Holds the server's unix socket, `.s.PGSQL.PORT`.
    public let socketDirectory: String
    public let superuser = "pyre_test"
    private let binaries: URL

    /// The process's cluster, started on first use.
    public static func shared() async throws -> PostgresTestCluster {
        try await starting.value
    }

    private static let starting = Task {
        try await start(in: FileManager.default.temporaryDirectory)
    }

    /// A cluster of its own in a new directory under `parent`: benchmarks put it on the file
    /// system they measure, since a temporary directory may be in RAM, where fsync is free.
    public static func start(in parent: URL) async throws -> PostgresTestCluster {
        try await offThePool { try PostgresTestCluster(parent: parent) }
    }

    private init(parent: URL) throws {
        binaries = try Self.findBinaries()
        directory = parent.appendingPathComponent("pyre-postgres-\(UUID().uuidString.prefix(8))", isDirectory: true)
        socketDirectory = directory.path
        let data = directory.appendingPathComponent("data").path
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let serverUser = try Self.serverUser()
        if let serverUser {
            try Self.run("/bin/chown", [serverUser, directory.path])
        }
        try Self.watch(directory: directory, data: data)
        try Self.run(binaries.appendingPathComponent("initdb").path,
                     ["-D", data, "-U", superuser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                     as: serverUser)
        try """
            local all all trust
            host all \(superuser) 127.0.0.1/32 trust
            host all all 127.0.0.1/32 scram-sha-256
            """.write(toFile: data + "/pg_hba.conf", atomically: false, encoding: .utf8)

        var lastFailure: (any Error)?
        for _ in 0..<3 {
            let port = try freeLoopbackPort()
            do {
                try Self.run(binaries.appendingPathComponent("pg_ctl").path, [
                    "-D", data, "-l", directory.path + "/server.log", "-w", "-t", "30", "start", "-o",
                    "-c listen_addresses=127.0.0.1 -c port=\(port) -c unix_socket_directories=\(socketDirectory) "
                        + "-c fsync=on -c synchronous_commit=on -c max_connections=300",
                ], as: serverUser)
                self.port = port
                return
            } catch {
                // Most likely another process took the port between our probe and the server's bind.
                lastFailure = error
            }
        }
        let log = (try? String(contentsOfFile: directory.path + "/server.log", encoding: .utf8)) ?? ""
        throw TestClusterError("PostgreSQL did not start: \(lastFailure.map { "\($0)" } ?? "")\n\(log.suffix(2_000))")
    }

    /// Creates an empty database and returns its name.
    public func createDatabase() async throws -> String {
        let name = "pyre_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await psql("CREATE DATABASE \(name)")
        return name
    }

    /// Runs SQL as the superuser through `psql` on the unix socket; returns its unaligned output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        let arguments = ["-h", socketDirectory, "-p", "\(port)", "-U", superuser, "-d", database,
                         "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-c", sql]
        let psql = binaries.appendingPathComponent("psql").path
        return try await Self.offThePool { try Self.run(psql, arguments) }
    }

    /// A `postgres://` URL for `database` over TCP on 127.0.0.1.
    public func url(database: String, user: String? = nil, password: String? = nil) -> String {
        let secret = password.map {
            ":" + ($0.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) ?? $0)
        } ?? ""
        return "postgres://\(user ?? superuser)\(secret)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// A URL for `database` over the unix socket.
    public func socketURL(database: String) -> String {
        "postgres://\(superuser)@:\(port)/\(database)?host=\(socketDirectory)"
    }

    private static func findBinaries() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        var candidates = path.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.sorted { $0.compare($1, options: .numeric) == .orderedDescending }
            .map { URL(fileURLWithPath: "/usr/lib/postgresql/\($0)/bin") }
        for directory in candidates {
            let initdb = directory.appendingPathComponent("initdb")
            if FileManager.default.isExecutableFile(atPath: initdb.path) {
                // /usr/local/bin may hold links; pg_ctl and psql sit next to the real initdb.
                return initdb.resolvingSymlinksInPath().deletingLastPathComponent()
            }
        }
        throw TestClusterError("PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
            + "apt-get install postgresql (scripts/test installs it)")
    }

    /// The user the server must run as: nil to run as ourselves, `postgres` when we are root.
    private static func serverUser() throws -> String? {
        guard getuid() == 0 else { return nil }
        if (try? run("/usr/bin/id", ["-u", "postgres"])) == nil {
            try run("/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"])
        }
        return "postgres"
    }

    /// Starts a detached shell that waits for this process to end, then stops the server and
    /// removes its directory: cleanup that also happens when the tests crash.
    private static func watch(directory: URL, data: String) throws {
        let script = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 0.2; done
            if [ -f '\(data)/postmaster.pid' ]; then
                server=$(head -n 1 '\(data)/postmaster.pid')
                kill -QUIT "$server" 2>/dev/null
                while kill -0 "$server" 2>/dev/null; do sleep 0.1; done
            fi
            rm -rf '\(directory.path)'
            """
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        watchdog.arguments = ["/bin/sh", "-c", script]
        watchdog.standardInput = FileHandle.nullDevice
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
    }

    /// Runs a program to its end and returns its output; throws with the output when it fails.
    /// Spawns and waits itself: Foundation's `Process` waits for a descriptor that the server,
    /// which `pg_ctl start` leaves running, inherits, and so never sees `pg_ctl` exit.
    @discardableResult
    private static func run(_ executable: String, _ arguments: [String], as user: String? = nil) throws -> String {
        let command = user.map { ["/usr/sbin/runuser", "-u", $0, "--", executable] } ?? [executable]
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-pg-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: output) }
        let pid = try ProcessSpawner.spawn(command + arguments, environment: ProcessInfo.processInfo.environment,
                                           output: .files(stdout: output.path, stderr: output.path))
        let status = ProcessSpawner.waitForExit(pid)
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw TestClusterError("\((command + arguments).joined(separator: " ")) failed (exit status \(status)): \(text)")
        }
        return text
    }

    /// Runs blocking work (a child process) on its own thread, not on Swift's small shared pool.
    private static func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }
}

public struct TestClusterError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
