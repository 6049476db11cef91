import Foundation
import Testing

/// The control API's OpenAPI document is valid OpenAPI (checked by openapi-spec-validator,
/// which scripts/test installs) and names every route the agent serves.
struct ControlAPIDocumentTests {
    static let document = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/control-api.yaml")

    @Test func documentIsValidOpenAPI() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import sys, yaml
            from openapi_spec_validator import validate
            validate(yaml.safe_load(open(sys.argv[1])))
            """, Self.document.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(message)")
    }

    @Test func documentNamesEveryRoute() throws {
        let text = try String(contentsOf: Self.document, encoding: .utf8)
        for route in ["/v1/status:", "/v1/history:", "/v1/dns:", "/v1/plan:", "/v1/deploy:", "/v1/verify:", "/v1/destroy:"] {
            #expect(text.contains(route), "\(route) is missing from docs/control-api.yaml")
        }
    }
}
