import Foundation
import PyreAPI
import PyreEvents
import Testing
@testable import PyreAgent

/// The agent's OpenAPI documents are valid OpenAPI (checked by openapi-spec-validator,
/// which scripts/test installs), and the route lists of PyreAPI (which the clients send)
/// are exactly the routes the routers serve and the routes the documents name.
struct APIDocumentTests {
    static let docs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs")
    static let documents = ["control-api.yaml", "events-api.yaml"]

    @Test(arguments: documents)
    func documentIsValidOpenAPI(_ name: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import sys, yaml
            from openapi_spec_validator import validate
            validate(yaml.safe_load(open(sys.argv[1])))
            """, Self.docs.appendingPathComponent(name).path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(message)")
    }

    @Test func controlRoutesAreExactlyThoseServedAndDocumented() async throws {
        try await withAgent { agent, _, _ in
            let router = ControlAPI.router(agent: agent, token: "t", subscribers: SubscriberRegistry(), console: { _ in })
            Self.expectSame(served: router.routes.map(\.description), listed: ControlRoutes.all)
            try Self.expectDocumented(ControlRoutes.all.map(\.description), in: "control-api.yaml")
        }
    }

    @Test func eventsRoutesAreExactlyThoseServedAndDocumented() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteEventStore(path: directory.appendingPathComponent("events.sqlite"))
        let router = EventsAPI.router(store: store, token: "t", subscribers: SubscriberRegistry())
        Self.expectSame(served: router.routes.map(\.description), listed: EventsRoutes.all)
        try Self.expectDocumented(EventsRoutes.all.map(\.description), in: "events-api.yaml")
        await store.close()
    }

    /// The router serves the listed routes, no more and no fewer (`GET /v1/status`).
    static func expectSame(served: [String], listed: [APIRoute]) {
        let listed = Set(listed.map(\.description))
        #expect(Set(served).subtracting(listed).sorted() == [], "served but not in PyreAPI's route list")
        #expect(listed.subtracting(served).sorted() == [], "in PyreAPI's route list but not served")
    }

    /// `routes` (`GET /v1/status`) are those `name` documents, no more and no fewer.
    static func expectDocumented(_ routes: [String], in name: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import sys, yaml
            methods = {"get", "put", "post", "delete", "patch", "head", "options"}
            for path, item in yaml.safe_load(open(sys.argv[1]))["paths"].items():
                for method in item:
                    if method in methods: print(method.upper(), path)
            """, docs.appendingPathComponent(name).path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let documented = Set(text.split(separator: "\n").map(String.init))
        #expect(!routes.isEmpty)
        #expect(Set(routes).subtracting(documented).sorted() == [], "served but missing from docs/\(name)")
        #expect(documented.subtracting(routes).sorted() == [], "in docs/\(name) but not served")
    }
}
