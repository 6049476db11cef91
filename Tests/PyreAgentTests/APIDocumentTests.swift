import Foundation
import PyreEvents
import Testing
@testable import PyreAgent

/// The agent's OpenAPI documents are valid OpenAPI (checked by openapi-spec-validator,
/// which scripts/test installs) and name every route the agent serves.
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

    @Test func controlAPIDocumentNamesExactlyTheRoutesServed() async throws {
        try await withAgent { agent, _, _ in
            let router = ControlAPI.router(agent: agent, token: "t", subscribers: SubscriberRegistry(), console: { _ in })
            try Self.expectDocumented(router.routes.map(\.description), in: "control-api.yaml")
        }
    }

    @Test func eventsAPIDocumentNamesExactlyTheRoutesServed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteEventStore(path: directory.appendingPathComponent("events.sqlite"))
        let router = EventsAPI.router(store: store, token: "t", subscribers: SubscriberRegistry())
        try Self.expectDocumented(router.routes.map(\.description), in: "events-api.yaml")
        await store.close()
    }

    /// `routes` (`GET /v1/status`, as the router lists them) are those `name` documents, no
    /// more and no fewer.
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
