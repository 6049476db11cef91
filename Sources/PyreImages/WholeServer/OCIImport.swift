import Foundation
import PyreCore
import PyrePOSIX

/// `base: { oci: DIR }`: the root filesystem of the image in an OCI image layout (its only
/// manifest, or the one named `latest`), its layers applied in order with their whiteouts
/// (`.wh.NAME` removes NAME below, `.wh..wh..opq` empties the directory below).
struct OCIImport {
    let image: String
    let maker: BaseMaker

    func unpack(_ layout: URL, into tree: URL) async throws {
        for layer in try layers(of: layout) {
            let blob = try Self.blob(layer, in: layout, image: image)
            let (status, listing) = try ProcessSpawner.run(["tar", "--list", "--file", blob.path])
            guard status == 0 else { throw PyreError(.bake, "image '\(image)': cannot read layer \(layer) of \(layout.path): \(listing)") }
            for member in listing.split(separator: "\n").map(String.init) {
                let path = member.hasPrefix("./") ? String(member.dropFirst(2)) : member
                let name = (path as NSString).lastPathComponent, parent = (path as NSString).deletingLastPathComponent
                guard name.hasPrefix(".wh."), !parent.split(separator: "/").contains("..") else { continue }
                let directory = tree.appending(path: parent).path
                if name == ".wh..wh..opq" {
                    for child in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                        try FileTree.remove(directory + "/" + child)
                    }
                } else {
                    try FileTree.remove(directory + "/" + String(name.dropFirst(4)))
                }
            }
            let outcome = try await maker.run(["tar", "--extract", "--file", blob.path, "--directory", tree.path, "--numeric-owner",
                                               "--same-owner", "--same-permissions", "--exclude=.wh.*",
                                               "--exclude=./dev/*", "--exclude=dev/*"], what: "tar")
            guard outcome.termination == .exited(code: 0) else {
                throw maker.failure("unpacking layer \(layer) of \(layout.path)", outcome, advice: "give an OCI image layout (`skopeo copy ... oci:DIR`)")
            }
        }
    }

    /// The layer digests of the layout's image, bottom first.
    private func layers(of layout: URL) throws -> [String] {
        let index = try Self.json(layout.appending(path: "index.json"), image: image)
        guard let manifests = index["manifests"] as? [[String: Any]], !manifests.isEmpty else {
            throw PyreError(.bake, "image '\(image)': \(layout.path)/index.json lists no image; give an OCI image layout")
        }
        let named = manifests.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == "latest" }
        guard let chosen = named ?? (manifests.count == 1 ? manifests[0] : nil), let digest = chosen["digest"] as? String else {
            throw PyreError(.bake, "image '\(image)': \(layout.path) holds \(manifests.count) images and none is named `latest`; "
                + "copy the one you want into a layout of its own")
        }
        let manifest = try Self.json(try Self.blob(digest, in: layout, image: image), image: image)
        guard let layers = manifest["layers"] as? [[String: Any]] else {
            throw PyreError(.bake, "image '\(image)': \(digest) in \(layout.path) is not an image manifest (an index of platforms?); "
                + "copy one platform's image (`skopeo copy --override-arch ...`)")
        }
        return layers.compactMap { $0["digest"] as? String }
    }

    static func blob(_ digest: String, in layout: URL, image: String) throws -> URL {
        let parts = digest.split(separator: ":")
        guard parts.count == 2, parts[1].allSatisfy({ $0.isHexDigit }) else {
            throw PyreError(.bake, "image '\(image)': \(digest) in \(layout.path) is not a digest")
        }
        return layout.appending(path: "blobs/\(parts[0])/\(parts[1])")
    }

    private static func json(_ file: URL, image: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: file.path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw PyreError(.bake, "image '\(image)': cannot read \(file.path) as JSON; give an OCI image layout directory")
        }
        return object
    }
}
