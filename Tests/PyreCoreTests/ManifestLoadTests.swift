import Foundation
import Testing
@testable import PyreCore
@testable import PyreManifest

@Suite struct ManifestLoadTests {
    @Test func minimalManifestGetsDefaults() throws {
        let directory = try ManifestDirectory()
        let spec = try directory.parse(minimalManifest)

        #expect(spec.name == "shop")
        #expect(spec.provider == .local)
        #expect(spec.zone == "shop.pyre.")
        #expect(spec.directory == directory.url.standardizedFileURL)
        #expect(spec.entrypoints.isEmpty)
        #expect(spec.dns == DNSSpec(listen: nil, ttl: .seconds(5), records: []))
        let image = try #require(spec.images.first)
        #expect(spec.images.count == 1)
        #expect(image == ImageRecipe(name: "web", context: directory.url.appendingPathComponent("web").standardizedFileURL,
                                     build: [], run: ["python3", "app.py"], env: [:], buildTimeout: .seconds(600),
                                     lockFile: directory.url.appendingPathComponent("pyre.lock")))
        #expect(!image.isWholeServer)
        let service = try #require(spec.services.first)
        #expect(service == ServiceSpec(name: "web", image: "web", count: 1, port: 8080, env: [:],
                                       health: HealthCheckSpec(probe: .tcp, interval: .milliseconds(500), timeout: .seconds(2),
                                                               successes: 1, failures: 3, deadline: .seconds(30)),
                                       strategy: RolloutStrategy(maxSurge: .percent(100), maxUnavailable: .absolute(0)),
                                       maxAge: nil, drain: .seconds(1)))
    }

    @Test func fixtureUsesEveryKey() throws {
        let fixture = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent("shop")
        let spec = try Manifest.load(directory: fixture)

        #expect(spec.name == "shop")
        #expect(spec.zone == "shop.example.")
        #expect(spec.images.map(\.name) == ["web", "worker"])
        let web = try #require(spec.image(named: "web"))
        #expect(web.context.path == fixture.appendingPathComponent("web").standardizedFileURL.path)
        #expect(web.build == ["python3 -m compileall -q ."])
        #expect(web.env == ["GREETING": "hello", "RATIO": "1.50", "DEBUG": "false"])
        #expect(web.buildTimeout == .seconds(5400))
        let worker = try #require(spec.image(named: "worker"))
        #expect(worker.context == web.context)
        #expect(worker.build == ["make"])
        #expect(worker.run == ["/bin/sh", "-c", #"exec python3 worker.py --queue "jobs""#])

        let service = try #require(spec.service(named: "web"))
        #expect(service.count == 3)
        #expect(service.port == 9000)
        #expect(service.env == ["GREETING": "hi"])
        #expect(service.health == HealthCheckSpec(probe: .http(path: "/healthz"), interval: .milliseconds(250),
                                                  timeout: .milliseconds(1500), successes: 2, failures: 5,
                                                  deadline: .seconds(60)))
        #expect(service.strategy == RolloutStrategy(maxSurge: .absolute(1), maxUnavailable: .percent(25)))
        #expect(service.maxAge == .seconds(86_400))
        #expect(service.drain == .zero)
        #expect(spec.service(named: "worker")?.count == 0)
        #expect(spec.entrypoints == [
            EntrypointSpec(name: "public", listen: "127.0.0.1:8080", service: "web"),
            EntrypointSpec(name: "admin", listen: "[::1]:9090", service: "web", balance: .roundRobin,
                           connectTimeout: .milliseconds(500), retryUnanswered: false),
        ])
        #expect(spec.dns == DNSSpec(listen: "127.0.0.1:5353", ttl: .seconds(2), records: [
            StaticDNSRecord(name: "db.shop.example.", value: .a("10.0.0.5")),
            StaticDNSRecord(name: "db.shop.example.", ttl: .seconds(60), value: .aaaa("fd00::5")),
            StaticDNSRecord(name: "www.shop.example.", value: .cname("web.shop.example.")),
            StaticDNSRecord(name: "shop.example.", value: .txt(["v=spf1 -all", "second"])),
            StaticDNSRecord(name: "_ldap._tcp.shop.example.",
                            value: .srv(priority: 10, weight: 5, port: 389, target: "ldap.example.com.")),
            StaticDNSRecord(name: "shop.example.", value: .mx(preference: 10, exchange: "mail.example.com.")),
        ]))
    }

    @Test func percentStrategyAndExplicitTCPCheck() throws {
        let directory = try ManifestDirectory()
        let spec = try directory.parse(minimalManifest + """
                strategy: { max_surge: 0%, max_unavailable: 50% }
                health: { tcp: true, deadline: 2m }

            """)
        let service = try #require(spec.services.first)
        #expect(service.strategy == RolloutStrategy(maxSurge: .percent(0), maxUnavailable: .percent(50)))
        #expect(service.health.probe == .tcp)
        #expect(service.health.deadline == .seconds(120))
    }

    @Test func progressiveDeliveryKeys() throws {
        let directory = try ManifestDirectory()
        let spec = try directory.parse(minimalManifest + """
                strategy: { canary: 25%, watch: 30s, auto_rollback: false, max_error_logs: 0.5% }

            """)
        let strategy = try #require(spec.services.first).strategy
        #expect(strategy == RolloutStrategy(canary: .percent(25), watch: .seconds(30), autoRollback: false,
                                            maxErrorLogs: 0.005))
        #expect(strategy.canaries(count: 3) == 1)
        #expect(strategy.canaries(count: 0) == 0)
        #expect(RolloutStrategy(canary: .absolute(5)).canaries(count: 2) == 2)
    }

    @Test func omittedProgressiveDeliveryKeysTakeTheDefaults() throws {
        let spec = try ManifestDirectory().parse(minimalManifest)
        let strategy = try #require(spec.services.first).strategy
        #expect(strategy.canary == .absolute(1) && strategy.watch == .seconds(10) && strategy.autoRollback)
        #expect(strategy.maxErrorLogs == nil)
    }

    @Test func stringRunCommandGoesThroughTheShell() throws {
        let directory = try ManifestDirectory()
        let spec = try directory.parse("""
            system: shop
            images:
              web: { context: web, run: "python3 app.py > /dev/null" }
            services:
              web: { image: web }
            """)
        #expect(spec.images.first?.run == ["/bin/sh", "-c", "python3 app.py > /dev/null"])
    }

    @Test func imageUserIsReadAndChangesTheConfigHash() throws {
        let directory = try ManifestDirectory()
        let yaml = { (user: String) in """
            system: shop
            images:
              web: { context: web, run: app\(user) }
            services:
              web: { image: web }
            """ }
        let plain = try directory.parse(yaml(""))
        let named = try directory.parse(yaml(", user: www-data:www-data"))
        let numbered = try directory.parse(yaml(", user: 1000"))
        #expect(plain.images.first?.user == nil)
        #expect(named.images.first?.user == "www-data:www-data")
        #expect(numbered.images.first?.user == "1000")
        let hash = { (spec: SystemSpec) in
            spec.services[0].configHash(recipe: spec.images[0],
                                        environment: ServerEnvironment.declared(recipe: spec.images[0], service: spec.services[0]),
                                        zone: spec.zone)
        }
        #expect(hash(plain) != hash(named))
        #expect(hash(named) != hash(numbered))
        // A manifest without `user:` keeps the hash it had before the key existed.
        #expect(hash(plain) == configHash(["run"] + plain.images[0].run + ["env", "port", "8080", "zone", plain.zone]))
    }

    @Test func serverSpecWithoutUserDecodesFromAnOlderRecord() throws {
        let spec = ServerSpec(id: ServerID("web-1-abcd"), system: "shop", service: "web", generation: 1,
                              image: ImageDigest("sha256:" + String(repeating: "ab", count: 32)),
                              imageLocation: .directory(URL(fileURLWithPath: "/images/x")), command: ["app"], env: [:], port: 8080,
                              configHash: "0123456789abcdef", zone: "shop.pyre.")
        let old = try JSONEncoder().encode(spec)
        #expect(!String(decoding: old, as: UTF8.self).contains("user"))
        #expect(try JSONDecoder().decode(ServerSpec.self, from: old) == spec)
        var withUser = spec
        withUser.user = "app"
        #expect(try JSONDecoder().decode(ServerSpec.self, from: JSONEncoder().encode(withUser)).user == "app")
    }

    @Test func contextResolvesAgainstTheManifestDirectoryNotTheWorkingDirectory() throws {
        let directory = try ManifestDirectory()
        let nested = directory.url.appendingPathComponent("web/static")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        let spec = try directory.parse("""
            system: shop
            images:
              web: { context: ./web/static/../static/, run: app }
              abs: { context: \(nested.path), run: app }
            services:
              web: { image: web }
            """)
        #expect(spec.images.map(\.context.path) == [nested.standardizedFileURL.path, nested.standardizedFileURL.path])
    }

    @Test func loadReportsThePathAsGivenForAMissingFile() throws {
        let directory = try ManifestDirectory()
        let error = try #require(throws: PyreError.self) {
            try Manifest.load(directory: directory.url.appendingPathComponent("web"))
        }
        #expect(error.message == "cannot read \(directory.url.path)/web/pyre.yml: the file does not exist; "
                + "create it or pass the path of your manifest")
    }

    @Test func loadRefusesADirectoryAsTheManifestFile() throws {
        let directory = try ManifestDirectory()
        let error = try #require(throws: PyreError.self) {
            try Manifest.load(file: directory.url.appendingPathComponent("web"))
        }
        #expect(error.message == "cannot read \(directory.url.path)/web: it is a directory; "
                + "pass the path of the manifest file inside it")
    }

    @Test func zoneIsLowercasedAndMadeAbsolute() throws {
        let directory = try ManifestDirectory()
        let spec = try directory.parse(minimalManifest + "zone: Apps.Example.COM\n")
        #expect(spec.zone == "apps.example.com.")
    }

    @Test func loadUsesThePathAsGivenInErrorLocations() throws {
        let directory = try ManifestDirectory()
        let file = directory.url.appendingPathComponent("custom.yml")
        try Data((minimalManifest + "    port: 0\n").utf8).write(to: file)
        let error = try #require(throws: PyreError.self) { try Manifest.load(file: file) }
        #expect(error.location == SourceLocation(file: file.path, line: 9, column: 11))
    }

    @Test func environmentValuesAreKeptAsWritten() throws {
        let directory = try ManifestDirectory()
        let spec = try directory.parse(minimalManifest + """
                env: { EMPTY: "", YES: yes, VERSION: 1.10, OCTAL: 0755 }

            """)
        #expect(spec.services.first?.env == ["EMPTY": "", "YES": "yes", "VERSION": "1.10", "OCTAL": "0755"])
    }
}
