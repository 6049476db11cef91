import Foundation
import Testing
@testable import PyreCore
@testable import PyreManifest

/// A manifest that must be refused, with the exact error it must produce.
struct BadManifest: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let line: Int
    let column: Int
    let field: String?
    /// `$DIR` stands for the test's manifest directory.
    let message: String

    var testDescription: String { name }

    /// `lines` appended to ``minimalManifest``, the first of them being line 9.
    init(_ name: String, appending lines: String, at line: Int, _ column: Int, field: String?, _ message: String) {
        self.init(name, yaml: minimalManifest + lines, at: line, column, field: field, message)
    }

    init(_ name: String, yaml: String, at line: Int, _ column: Int, field: String?, _ message: String) {
        self.name = name
        self.yaml = yaml
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }
}

private let dnsRule = "use 1-63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen"

let badManifests: [BadManifest] = [
    // Keys
    BadManifest("unknown key with a suggestion", appending: "    cout: 3\n", at: 9, 5, field: "services.web.cout",
                #"unknown key "cout"; did you mean "count"?"#),
    BadManifest("unknown key with swapped letters", appending: "    imgae: web\n", at: 9, 5, field: "services.web.imgae",
                #"unknown key "imgae"; did you mean "image"?"#),
    BadManifest("unknown top-level key", appending: "version: 2\n", at: 9, 1, field: "version",
                #"unknown key "version"; allowed keys: system, provider, aws, zone, images, services, entrypoints, dns, events, logs"#),
    BadManifest("AWS region in other words", appending: "aws: { region: Europe }\n", at: 9, 16, field: "aws.region",
                #""Europe" is not an AWS region; write it as AWS does, e.g. eu-west-1"#),
    BadManifest("unknown AWS health mode", appending: "aws: { health: always }\n", at: 9, 16, field: "aws.health",
                "health must be service (EC2 status checks, then the service's check against the instance address) "
                    + "or instance (EC2 status checks only, for an agent outside the VPC)"),
    BadManifest("security group by name", appending: "aws: { security_groups: [web] }\n", at: 9, 25,
                field: "aws.security_groups", "security groups are ids such as sg-0abc123"),
    BadManifest("missing run", yaml: """
        system: shop
        images:
          web:
            context: ./web
        services:
          web:
            image: web
        """, at: 4, 5, field: "images.web.run", #"missing required key "run""#),
    BadManifest("missing system", yaml: """
        images:
          web: { context: ./web, run: app }
        services:
          web: { image: web }
        """, at: 1, 1, field: "system", #"missing required key "system""#),
    BadManifest("missing image of a service", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app }
        services:
          web: { count: 2 }
        """, at: 5, 8, field: "services.web.image", #"missing required key "image""#),

    // Types
    BadManifest("word where an integer belongs", appending: "    count: three\n", at: 9, 12, field: "services.web.count",
                #"expected an integer, got "three""#),
    BadManifest("count beyond what a rollout can handle", appending: "    count: 100001\n", at: 9, 12,
                field: "services.web.count", "count must be between 0 and 100000, got 100001"),
    BadManifest("mapping where an integer belongs", appending: "    port: { number: 80 }\n", at: 9, 11,
                field: "services.web.port", "expected an integer, got a mapping"),
    BadManifest("nothing where an integer belongs", appending: "    count:\n    port: 80\n", at: 9, 11,
                field: "services.web.count", "expected an integer, got nothing"),
    BadManifest("scalar where a mapping belongs", appending: "    health: yes\n", at: 9, 13, field: "services.web.health",
                #"expected a health check such as { http: /healthz } or { tcp: true }, got "yes""#),
    BadManifest("list where services belong", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app }
        services:
          - web
        """, at: 5, 3, field: "services",
                "expected a mapping of service names to services, e.g. web: { image: web }, got a list"),
    BadManifest("mapping as a build step", yaml: """
        system: shop
        images:
          web:
            context: ./web
            build: { step: make }
            run: app
        services:
          web: { image: web }
        """, at: 5, 12, field: "images.web.build",
                "expected a list of shell commands or a single command, got a mapping"),
    BadManifest("top level is a list", yaml: "- system\n- shop\n", at: 1, 1, field: nil,
                "expected a mapping with system:, images: and services:, got a list"),
    BadManifest("empty file", yaml: "# nothing here yet\n", at: 1, 1, field: nil,
                "the manifest is empty; it needs at least system:, images: and services:"),

    // Values
    BadManifest("negative count", appending: "    count: -1\n", at: 9, 12, field: "services.web.count",
                "count must be between 0 and 100000, got -1"),
    BadManifest("port too large", appending: "    port: 70000\n", at: 9, 11, field: "services.web.port",
                "port must be between 1 and 65535, got 70000"),
    BadManifest("port zero", appending: "    port: 0\n", at: 9, 11, field: "services.web.port",
                "port must be between 1 and 65535, got 0"),
    BadManifest("duration in words", appending: "    max_age: 5 seconds\n", at: 9, 14, field: "services.web.max_age",
                #"invalid duration "5 seconds"; use a number with ms, s, m or h, e.g. 500ms, 2s, 24h"#),
    BadManifest("duration without a unit", appending: "    health: { interval: 5 }\n", at: 9, 25,
                field: "services.web.health.interval",
                #"invalid duration "5"; use a number with ms, s, m or h, e.g. 500ms, 2s, 24h"#),
    BadManifest("zero max_age", appending: "    max_age: 0s\n", at: 9, 14, field: "services.web.max_age",
                #"max_age must be greater than 0, got "0s""#),
    BadManifest("surge and unavailable both zero", appending: "    strategy: { max_surge: 0, max_unavailable: 0 }\n",
                at: 9, 28, field: "services.web.strategy.max_surge",
                "max_surge and max_unavailable are both 0, so a rollout could never make progress; set max_surge to 1 or more"),
    BadManifest("percentage above 100", appending: "    strategy: { max_surge: 150% }\n", at: 9, 28,
                field: "services.web.strategy.max_surge",
                #"max_surge percentage must be between 0% and 100%, got "150%""#),
    BadManifest("negative max_unavailable", appending: "    strategy: { max_unavailable: -1 }\n", at: 9, 34,
                field: "services.web.strategy.max_unavailable", "max_unavailable must be 0 or more, got -1"),
    BadManifest("error share without a percent sign", appending: "    strategy: { max_error_logs: 5 }\n", at: 9, 33,
                field: "services.web.strategy.max_error_logs",
                #"max_error_logs must be a percentage between 0% and 100% such as 0.5%, got "5""#),
    BadManifest("watch in words", appending: "    strategy: { watch: soon }\n", at: 9, 24,
                field: "services.web.strategy.watch",
                #"invalid duration "soon"; use a number with ms, s, m or h, e.g. 500ms, 2s, 24h"#),
    BadManifest("http path without slash", appending: "    health: { http: healthz }\n", at: 9, 21,
                field: "services.web.health.http", #"http path must start with "/", got "healthz"; e.g. /healthz"#),
    BadManifest("http and tcp together", appending: "    health: { http: /healthz, tcp: true }\n", at: 9, 13,
                field: "services.web.health", "set either http or tcp, not both"),
    BadManifest("tcp false", appending: "    health: { tcp: false }\n", at: 9, 20, field: "services.web.health.tcp",
                "tcp can only be true; to check over HTTP use http: /path instead"),
    BadManifest("zero successes", appending: "    health: { successes: 0 }\n", at: 9, 26,
                field: "services.web.health.successes", "successes must be 1 or more, got 0"),
    BadManifest("unknown provider", appending: "provider: gcp\n", at: 9, 11, field: "provider",
                #"unknown provider "gcp"; use one of: local, aws"#),
    BadManifest("invalid zone", appending: "zone: shop..pyre\n", at: 9, 7, field: "zone",
                #""shop..pyre" is not a valid DNS name: use dot-separated labels of 1-63 letters, digits and hyphens, not starting or ending with a hyphen, e.g. guestbook.pyre."#),
    BadManifest("invalid environment name", appending: "    env: { MY-VAR: x }\n", at: 9, 12,
                field: "services.web.env.MY-VAR",
                #""MY-VAR" is not a valid environment variable name: use letters, digits and underscores, not starting with a digit"#),
    BadManifest("empty run", yaml: """
        system: shop
        images:
          web: { context: ./web, run: [] }
        services:
          web: { image: web }
        """, at: 3, 31, field: "images.web.run", "run is empty; give the command a server runs, e.g. [python3, app.py]"),
    BadManifest("user with a space", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app, user: "app user" }
        services:
          web: { image: web }
        """, at: 3, 42, field: "images.web.user",
                #"user "app user" is not a user name or number with an optional :group, e.g. app, 1000 or app:app"#),
    BadManifest("user with an empty group", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app, user: "app:" }
        services:
          web: { image: web }
        """, at: 3, 42, field: "images.web.user",
                #"user "app:" is not a user name or number with an optional :group, e.g. app, 1000 or app:app"#),

    // References
    BadManifest("undefined image", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app }
        services:
          web:
            image: wbe
        """, at: 6, 12, field: "services.web.image",
                #"service "web" uses image "wbe", which is not defined under images:; defined images: web"#),
    BadManifest("entrypoint to an undefined service", appending: """
        entrypoints:
          public: { listen: "127.0.0.1:8080", service: wbe }

        """, at: 10, 48, field: "entrypoints.public.service",
                #"entrypoint "public" forwards to service "wbe", which is not defined under services:; defined services: web"#),
    BadManifest("listen port out of range", appending: """
        entrypoints:
          public: { listen: "127.0.0.1:99999", service: web }

        """, at: 10, 21, field: "entrypoints.public.listen", #"port in listen must be between 1 and 65535, got "99999""#),
    BadManifest("listen without a port", appending: """
        entrypoints:
          public: { listen: localhost, service: web }

        """, at: 10, 21, field: "entrypoints.public.listen",
                #"listen must be HOST:PORT, e.g. "127.0.0.1:8080", got "localhost""#),
    BadManifest("unknown entrypoint balance", appending: """
        entrypoints:
          public: { listen: "127.0.0.1:8080", service: web, balance: round_robbin }

        """, at: 10, 62, field: "entrypoints.public.balance",
                #"unknown balance "round_robbin"; did you mean "round_robin"?"#),

    // DNS
    BadManifest("DNS record type not supported", appending: """
        dns:
          records:
            - { name: db, type: PTR, value: x. }

        """, at: 11, 25, field: "dns.records[0].type",
                #"unsupported record type "PTR"; use one of: A, AAAA, CNAME, TXT, SRV, MX"#),
    BadManifest("DNS A record with a bad address", appending: """
        dns:
          records:
            - { name: db, type: A, value: 10.0.0.256 }

        """, at: 11, 35, field: "dns.records[0].value", #""10.0.0.256" is not an IPv4 address, e.g. 10.0.0.5"#),
    BadManifest("DNS record outside the zone", appending: """
        dns:
          records:
            - { name: db.example.com., type: A, value: 10.0.0.5 }

        """, at: 11, 15, field: "dns.records[0].name",
                "db.example.com. is outside the zone shop.pyre.; the DNS server answers only for its own zone"),
    BadManifest("DNS SRV value in the wrong form", appending: """
        dns:
          records:
            - { name: _ldap._tcp, type: SRV, value: "ldap.example.com. 389" }

        """, at: 11, 45, field: "dns.records[0].value",
                #"SRV value must be "PRIORITY WEIGHT PORT TARGET", e.g. "10 5 389 ldap.example.com.""#),
    BadManifest("DNS TTL below a second", appending: """
        dns:
          ttl: 500ms

        """, at: 10, 8, field: "dns.ttl", "ttl must be between 1s and 68 years (DNS counts whole seconds)"),
    BadManifest("DNS record named like the event store", appending: """
        dns:
          records:
            - { name: events, type: A, value: 10.0.0.5 }

        """, at: 11, 15, field: "dns.records[0].name",
                "events.shop.pyre. is the event store's name, which Pyre publishes itself; a record of the same name "
                + "would be merged with Pyre's and give clients a wrong answer: choose another name"),
    BadManifest("DNS record named like a service", appending: """
        dns:
          records:
            - { name: db, type: A, value: 10.0.0.5 }
            - { name: WEB.shop.pyre., type: TXT, value: hi }

        """, at: 12, 15, field: "dns.records[1].name",
                "web.shop.pyre. is the name of service web's healthy servers, which Pyre publishes itself; a record of "
                + "the same name would be merged with Pyre's and give clients a wrong answer: choose another name"),
    BadManifest("DNS record named like a service's SRV record", appending: """
        dns:
          records:
            - { name: _web._tcp, type: SRV, value: "0 1 80 db.example.com." }

        """, at: 11, 15, field: "dns.records[0].name",
                "_web._tcp.shop.pyre. is service web's SRV record, which Pyre publishes itself; a record of the same "
                + "name would be merged with Pyre's and give clients a wrong answer: choose another name"),
    BadManifest("DNS record named like a server", appending: """
        dns:
          records:
            - { name: web-3-8f2c, type: A, value: 10.0.0.5 }

        """, at: 11, 15, field: "dns.records[0].name",
                "web-3-8f2c.shop.pyre. is the name of one server of service web, which Pyre publishes itself; a record "
                + "of the same name would be merged with Pyre's and give clients a wrong answer: choose another name"),
    BadManifest("DNS listening where an entry point listens", appending: """
        entrypoints:
          public: { listen: "127.0.0.1:8080", service: web }
        dns: { listen: "0.0.0.0:8080" }

        """, at: 11, 16, field: "dns.listen",
                "0.0.0.0:8080 overlaps entrypoints.public.listen (127.0.0.1:8080): both would listen on port 8080 there; "
                + "give each listener its own address or port"),
    BadManifest("DNS records not a list", appending: """
        dns:
          records: { db: 10.0.0.5 }

        """, at: 10, 12, field: "dns.records",
                "expected a list of records such as - { name: db, type: A, value: 10.0.0.5 }, got a mapping"),
    BadManifest("context that does not exist", yaml: """
        system: shop
        images:
          web:
            context: ./wbe
            run: app
        services:
          web: { image: web }
        """, at: 4, 14, field: "images.web.context",
                #"context directory "./wbe" does not exist (looked for $DIR/wbe); paths are relative to the manifest's directory"#),
    BadManifest("context that is a file", yaml: """
        system: shop
        images:
          web:
            context: notes.txt
            run: app
        services:
          web: { image: web }
        """, at: 4, 14, field: "images.web.context",
                #"context "notes.txt" is a file; give the directory that holds the files to bake"#),

    // Names
    BadManifest("service name not a DNS label", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app }
        services:
          Web_1:
            image: web
        """, at: 5, 3, field: "services.Web_1", #""Web_1" is not a valid DNS label: \#(dnsRule)"#),
    BadManifest("system name not a DNS label", yaml: """
        system: My Shop
        images:
          web: { context: ./web, run: app }
        services:
          web: { image: web }
        """, at: 1, 9, field: "system", #""My Shop" is not a valid DNS label: \#(dnsRule)"#),
    BadManifest("reserved service name", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app }
        services:
          events: { image: web }
        """, at: 5, 3, field: "services.events",
                #""events" is reserved for Pyre's own services (events, logs, dns); choose another service name"#),
    BadManifest("two bases", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app, base: { debian: bookworm, rootfs: ./base.tar } }
        services:
          web: { image: web }
        """, at: 3, 42, field: "images.web.base", "base has debian and rootfs; give only one"),
    BadManifest("missing rootfs", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app, base: { rootfs: ./nothing.tar } }
        services:
          web: { image: web }
        """, at: 3, 52, field: "images.web.base.rootfs",
                "./nothing.tar does not exist (looked for $DIR/nothing.tar); give a tar of a root filesystem such as ./base.tar, relative to the manifest's directory"),
    BadManifest("bad package name", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app, base: { debian: bookworm, packages: [Python3] } }
        services:
          web: { image: web }
        """, at: 3, 72, field: "images.web.base.packages",
                "'Python3' is not a Debian package name (lowercase letters, digits, + - .)"),
    BadManifest("workdir without base", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app, workdir: /srv }
        services:
          web: { image: web }
        """, at: 3, 45, field: "images.web.workdir",
                "workdir applies to whole-server images only; add a base: (e.g. base: { debian: bookworm }) or remove workdir"),
    BadManifest("workdir not absolute", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app, base: { debian: bookworm }, workdir: srv/../x }
        services:
          web: { image: web }
        """, at: 3, 73, field: "images.web.workdir", "workdir 'srv/../x' must be an absolute path below / such as /app or /srv/web"),
    BadManifest("tiny tmpfs", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app, base: { debian: bookworm }, tmpfs_size: 10kB }
        services:
          web: { image: web }
        """, at: 3, 76, field: "images.web.tmpfs_size",
                "tmpfs_size must be a size of at least 1MiB such as 64MiB or 1GiB, got '10kB'"),
    BadManifest("duplicate service", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app }
        services:
          web:
            image: web
          web:
            image: web
        """, at: 7, 3, field: "services.web",
                #"duplicate service "web"; the first is at line 5, give each service its own name"#),
    BadManifest("duplicate key in a service", appending: "    count: 2\n    count: 3\n", at: 10, 5,
                field: "services.web.count", #"duplicate key "count"; the first is at line 9, keep only one"#),
    BadManifest("service defined three times", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app }
        services:
          web: { image: web }
          web: { image: web }
          web: { image: web }
        """, at: 6, 3, field: "services.web",
                #"duplicate service "web"; the first is at line 5, give each service its own name"#),
    BadManifest("duplicate top-level key", appending: "services:\n  api: { image: web }\n", at: 9, 1,
                field: "services", #"duplicate key "services"; the first is at line 6, keep only one"#),
    BadManifest("duplicate key inside a duplicate service", yaml: """
        system: shop
        images:
          web: { context: ./web, run: app }
        services:
          web:
            image: web
            image: web
          web:
            image: web
        """, at: 7, 5, field: "services.web.image",
                #"duplicate key "image"; the first is at line 6, keep only one"#),
    BadManifest("duplicate quoted image in flow style", yaml: """
        system: shop
        images: { "web": { context: ./web, run: app }, "web": { context: ./web, run: app } }
        services:
          web: { image: web }
        """, at: 2, 48, field: "images.web",
                #"duplicate image "web"; the first is at line 2, give each image its own name"#),

    // Logs
    BadManifest("logs max_age that is not a duration", appending: "logs: { max_age: forever }\n", at: 9, 18,
                field: "logs.max_age", "max_age must be a duration such as 30d, 12h or 90m, got 'forever'"),
    BadManifest("logs max_size that is not a size", appending: "logs: { max_size: 10 parsecs }\n", at: 9, 19,
                field: "logs.max_size", "max_size must be a size such as 10GiB, 500MB or 1000000 (bytes), got '10 parsecs'"),
    BadManifest("logs port out of range", appending: "logs: { port: 0 }\n", at: 9, 15,
                field: "logs.port", "port must be between 1 and 65535, got 0"),
    BadManifest("logs TLS certificate that does not exist", appending: "logs: { tls: { certificate: missing.pem, key: key.pem } }\n",
                at: 9, 29, field: "logs.tls.certificate",
                "certificate file $DIR/missing.pem does not exist; give the path of a PEM file (relative to pyre.yml)"),

    // YAML syntax
    BadManifest("unclosed flow sequence", yaml: "system: shop\nimages: [web\nservices: {}\n", at: 3, 9, field: nil,
                "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence from line 2)"),
    BadManifest("tab indentation", yaml: "system: shop\nimages:\n\tweb: {}\n", at: 3, 1, field: nil,
                "invalid YAML: found character that cannot start any token (while scanning for the next token from line 3); "
                + "YAML does not allow tabs for indentation, use spaces"),
    BadManifest("control character", yaml: "system: shop\nimages: \u{1}\n", at: 2, 9, field: nil,
                "invalid YAML: control characters are not allowed; delete the invisible character at this position"),
    BadManifest("two documents", yaml: "system: shop\n---\nsystem: other\n", at: 2, 1, field: nil,
                "invalid YAML: found a second document; a manifest is one document, remove the --- line"),
]

@Suite struct ManifestErrorTests {
    @Test(arguments: badManifests)
    func refusesWithLocationFieldAndMessage(_ bad: BadManifest) throws {
        let directory = try ManifestDirectory()
        let error = try #require(throws: PyreError.self) { try directory.parse(bad.yaml) }
        #expect(error.code == .manifest)
        #expect(error.location == SourceLocation(file: "pyre.yml", line: bad.line, column: bad.column))
        #expect(error.field == bad.field)
        #expect(error.message == bad.message.replacingOccurrences(of: "$DIR", with: directory.url.standardizedFileURL.path))
    }

    @Test func refusesAListenAddressOfAnotherMachine() throws {
        let directory = try ManifestDirectory()
        // 198.51.100.0/24 is reserved for documentation (TEST-NET-2): not this machine's.
        let yaml = minimalManifest + "entrypoints:\n  public: { listen: \"198.51.100.7:8080\", service: web }\n"
        let error = try #require(throws: PyreError.self) { try directory.parse(yaml) }
        #expect(error.location == SourceLocation(file: "pyre.yml", line: 10, column: 21))
        #expect(error.field == "entrypoints.public.listen")
        #expect(error.message.hasPrefix("198.51.100.7 is not an address of this machine, so nothing can listen on "
            + "198.51.100.7:8080; use one of "), "\(error.message)")
        #expect(error.message.contains("127.0.0.1"), "lists the machine's addresses: \(error.message)")
    }

    @Test func remembersWhereListenAddressesAre() throws {
        let directory = try ManifestDirectory()
        let spec = try directory.parse(minimalManifest + """
            entrypoints:
              public: { listen: "127.0.0.1:8080", service: web }
            dns: { listen: "[::1]:5300" }
            """)
        #expect(spec.fieldLocations == ["entrypoints.public.listen": SourceLocation(file: "pyre.yml", line: 10, column: 21),
                                         "dns.listen": SourceLocation(file: "pyre.yml", line: 11, column: 16)])
    }

    @Test func descriptionNamesFileLineColumnAndField() throws {
        let directory = try ManifestDirectory()
        let error = try #require(throws: PyreError.self) { try directory.parse(minimalManifest + "    port: 70000\n") }
        #expect(error.description == "pyre.yml:9:11: services.web.port: port must be between 1 and 65535, got 70000")
    }
}
