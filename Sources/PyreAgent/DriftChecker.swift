import Foundation
import PyreAPI
import PyreCore
import PyreImages

/// `pyre verify`: re-hashes each server's view of its image and compares it with what
/// was baked: a whole-server image's whole root (owners and modes too), a host-OS image's
/// files.
struct DriftChecker: Sendable {
    let provider: any ServerProvider
    let images: ImageStore

    /// The servers checked and those whose files differ from their image's.
    func check(progress: @escaping ProgressSink) async throws -> (checked: Int, drifted: [VerifyReport.Finding]) {
        var findings: [VerifyReport.Finding] = []
        let servers = try await provider.list()
        // In namespace mode every server of an image views the same directory: hash it once.
        var digests: [URL: ImageDigest] = [:]
        for server in servers {
            guard let view = server.imageView, let image = images.image(for: server.image) else { continue }
            // Hashing a tree takes a while: off the caller's actor, and a server destroyed meanwhile is skipped.
            if digests[view] == nil {
                digests[view] = try? await Task.detached(operation: { try image.digestOfFiles(at: view) }).value
            }
            guard let actual = digests[view] else { continue }
            // `image` is the digest status shows (of the image's inputs); what drifts is the digest of its files.
            if actual != image.contentDigest {
                findings.append(.init(server: server.id.rawValue, image: server.image.rawValue,
                                      expected: image.contentDigest.rawValue, actual: actual.rawValue))
            }
            progress(.checked(server: server.id.rawValue, image: server.image.rawValue, files: actual.rawValue,
                              baked: image.contentDigest.rawValue))
        }
        return (servers.count, findings)
    }
}
