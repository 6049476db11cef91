import Foundation
import Testing

/// The agent's OpenAPI documents are valid OpenAPI (checked by openapi-spec-validator,
/// which scripts/test installs) and name every route the agent serves.
struct APIDocumentTests {
    static let docs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs")
    static let routes = [
        "control-api.yaml": ["/v1/status:", "/v1/history:", "/v1/dns:", "/v1/logs:", "/v1/plan:", "/v1/deploy:", "/v1/verify:", "/v1/destroy:"],
        "events-api.yaml": ["/streams/{stream}:", "/all:", "/subscribe:", "/snapshots/{stream}:"],
    ]

    @Test(arguments: routes.keys.sorted())
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

    @Test(arguments: routes.keys.sorted())
    func documentNamesEveryRoute(_ name: String) throws {
        let text = try String(contentsOf: Self.docs.appendingPathComponent(name), encoding: .utf8)
        for route in Self.routes[name] ?? [] {
            #expect(text.contains(route), "\(route) is missing from docs/\(name)")
        }
    }
}
