import Foundation
@testable import PyreCore
@testable import PyreManifest

/// A fresh temporary directory holding a context directory `web/` and a plain file
/// `notes.txt`, removed when the test ends.
struct ManifestDirectory: ~Copyable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-manifest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("web"), withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: url.appendingPathComponent("notes.txt"))
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func parse(_ yaml: String) throws -> SystemSpec {
        try Manifest.parse(yaml, file: "pyre.yml", directory: url)
    }
}

/// The smallest valid manifest; lines 1-8, so a case can append lines starting at line 9
/// inside `services.web`.
let minimalManifest = """
    system: shop
    images:
      web:
        context: ./web
        run: [python3, app.py]
    services:
      web:
        image: web

    """
