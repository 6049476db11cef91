import Foundation
import PyreCore
import PyreEventsPostgres
import Testing

@Suite("PostgreSQL event store URL")
struct PostgresConfigurationTests {
    @Test func fullURLIsParsedAndDecoded() throws {
        let configuration = try PostgresEventStoreConfiguration(
            url: "postgresql://pyre%40ops:p%2Fss%3Aw0rd@db.internal:6543/pyre%20events?sslmode=require")
        #expect(configuration.endpoint == .tcp(host: "db.internal", port: 6543))
        #expect(configuration.username == "pyre@ops")
        #expect(configuration.password == "p/ss:w0rd")
        #expect(configuration.database == "pyre events")
        #expect(configuration.tls == .require)
    }

    @Test func defaultsAreLibpqs() throws {
        let configuration = try PostgresEventStoreConfiguration(url: "postgres://pyre@localhost/events")
        #expect(configuration.endpoint == .tcp(host: "localhost", port: 5432))
        #expect(configuration.password == nil)
        #expect(configuration.tls == .prefer)
    }

    @Test func ipv6HostAndUnixSocket() throws {
        let ipv6 = try PostgresEventStoreConfiguration(url: "postgres://pyre@[::1]:5433/events?sslmode=disable")
        #expect(ipv6.endpoint == .tcp(host: "::1", port: 5433))
        let socket = try PostgresEventStoreConfiguration(url: "postgres://pyre@:5434/events?host=/run/postgresql")
        #expect(socket.endpoint == .unixSocket(directory: "/run/postgresql", port: 5434))
        #expect(socket.description == "postgres://pyre@:5434/events?host=/run/postgresql")
    }

    @Test func descriptionHidesThePassword() throws {
        let configuration = try PostgresEventStoreConfiguration(url: "postgres://pyre:hunter2@db:5432/events")
        #expect(configuration.description == "postgres://pyre:***@db:5432/events")
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(!String(reflecting: configuration).contains("hunter2"))
    }

    static let badURLs: [(url: String, problem: String)] = [
        ("db.internal/events", "it has no scheme"),
        ("mysql://pyre:s3cret-pw@db/events", "its scheme is 'mysql'"),
        ("postgres://db.internal/events", "it names no user"),
        ("postgres://:s3cret-pw@db/events", "its user name is empty"),
        ("postgres://pyre:s3cret-pw@db.internal", "it names no database"),
        ("postgres://pyre:s3cret-pw@db:54x2/events", "its port '54x2'"),
        ("postgres://pyre:s3cret-pw@db:70000/events", "its port '70000'"),
        ("postgres://pyre:s3cret-pw@/events", "it names no host"),
        ("postgres://pyre:s3cret-pw@db/events?sslmode=allow", "sslmode 'allow' is not supported"),
        ("postgres://pyre:s3cret-pw@db/events?connect_timeout=3", "unknown parameter 'connect_timeout'"),
        ("postgres://pyre:s3cret-pw@db/events?host=relative/dir", "its host parameter 'relative/dir'"),
        ("postgres://pyre:s3cret-pw%zz@db/events", "its password has a malformed %-escape"),
    ]

    @Test(arguments: badURLs)
    func badURLIsRefusedNamingTheBadPart(_ url: String, _ problem: String) {
        let error = #expect(throws: PyreError.self) { try PostgresEventStoreConfiguration(url: url) }
        #expect(error?.code == .events)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("s3cret-pw") == false)
    }
}
