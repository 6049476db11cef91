#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PyreCore
import PyrePOSIX

/// `base: { oci: DIR }`: the root filesystem of the image in an OCI image layout (its only
/// manifest, or the one named `latest`), its layers applied in order with their whiteouts
/// (`.wh.NAME` removes NAME below, `.wh..wh..opq` empties the directory below).
///
/// Each layer is unpacked into a directory of its own, then moved onto the tree entry by
/// entry, parents first, never through a symlink: a lower layer's symlink (`x -> /etc`)
/// cannot send a higher layer's `x/passwd` out of the tree, as extracting the layers one
/// over the other would (GNU tar follows symlinks already on disk; bakes run as root).
struct OCIImport {
    let image: String
    let maker: BaseMaker

    func unpack(_ layout: URL, into tree: URL) async throws {
        for layer in try layers(of: layout) {
            let blob = try Self.blob(layer, in: layout, image: image)
            let (status, listing) = try ProcessSpawner.run(["tar", "--list", "--quoting-style=literal", "--file", blob.path])
            guard status == 0 else { throw PyreError(.bake, "image '\(image)': cannot read layer \(layer) of \(layout.path): \(listing)") }
            let members = Set(listing.split(separator: "\n").map { Self.normalised(String($0)) })
            let unpacked = tree.deletingLastPathComponent().appending(path: ".oci-layer-\(UUID().uuidString)", directoryHint: .isDirectory)
            guard mkdir(unpacked.path, 0o700) == 0 else { throw posixError("cannot create", unpacked.path) }
            defer { try? FileTree.remove(unpacked.path) }
            let outcome = try await maker.run(["tar", "--extract", "--file", blob.path, "--directory", unpacked.path, "--numeric-owner",
                                               "--same-owner", "--same-permissions",
                                               "--anchored", "--exclude=./dev/*", "--exclude=dev/*"], what: "tar")
            guard outcome.termination == .exited(code: 0) else {
                throw maker.failure("unpacking layer \(layer) of \(layout.path)", outcome, advice: "give an OCI image layout (`skopeo copy ... oci:DIR`)")
            }
            try Self.apply(unpacked, onto: tree, members: members, layer: layer, image: image)
        }
    }

    /// A member name as a path relative to the layer's root: no `./`, no leading or trailing `/`.
    static func normalised(_ member: String) -> String {
        var path = Substring(member)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        while path.hasPrefix("/") { path = path.dropFirst() }
        while path.hasSuffix("/") { path = path.dropLast() }
        return path == "." ? "" : String(path)
    }

    /// Moves the unpacked layer onto `tree`. A directory's whiteouts are applied before its
    /// entries, so a layer may remove a lower path and put a new one there. `members`: the
    /// layer's member names; a directory tar made only as the parent of a member, where the
    /// tree holds a symlink or file, is refused rather than followed or replaced.
    static func apply(_ layer: URL, onto tree: URL, members: Set<String>, layer digest: String, image: String) throws {
        try applyWhiteouts(in: layer.path, onto: tree.path)
        try FileTree.walk(layer.path) { entry in
            let name = (entry.relativePath as NSString).lastPathComponent
            if name.hasPrefix(".wh.") { return }
            let target = tree.path + "/" + entry.relativePath
            switch entry.kind {
            case .directory:
                var info = stat()
                let exists = lstat(target, &info) == 0
                let isDirectory = exists && info.st_mode & S_IFMT == S_IFDIR
                let explicit = members.contains(entry.relativePath)
                if !isDirectory {
                    if exists && !explicit {
                        throw PyreError(.bake, "image '\(image)': layer \(digest) of the OCI base has files below /\(entry.relativePath), "
                            + "which a lower layer made a symlink or file, without replacing it; Pyre does not follow symlinks "
                            + "while it unpacks a base: flatten the image (`skopeo copy`, `umoci`) or fix the layer")
                    }
                    try FileTree.remove(target)
                    guard mkdir(target, 0o700) == 0 else { throw posixError("cannot create", target) }
                }
                if explicit || !isDirectory {
                    try LayerMerge.setOwnerAndMode(target, owner: entry.owner, group: entry.group, mode: entry.mode)
                }
                try applyWhiteouts(in: entry.absolutePath, onto: target)
            case .file, .symlink:
                try FileTree.remove(target)
                guard rename(entry.absolutePath, target) == 0 else { throw posixError("cannot move", entry.absolutePath) }
            case .characterDevice, .other:
                throw PyreError(.bake, "image '\(image)': layer \(digest) of the OCI base holds /\(entry.relativePath), a device node, "
                    + "FIFO or socket; a whole-server image holds only files, directories and symlinks (a server's /dev is its own)")
            }
        }
    }

    /// The whiteouts in the layer's `directory`, applied to the tree's same directory
    /// (`target`, a directory, not a symlink).
    private static func applyWhiteouts(in directory: String, onto target: String) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        if names.contains(".wh..wh..opq") {
            for child in (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? [] {
                try FileTree.remove(target + "/" + child)
            }
        }
        // `.wh..wh.*` are markers of the format itself (opaque directories, aufs's link directory).
        for name in names where name.hasPrefix(".wh.") && !name.hasPrefix(".wh..wh.") {
            let whited = String(name.dropFirst(4))
            guard !whited.isEmpty, whited != ".", whited != ".." else { continue }
            try FileTree.remove(target + "/" + whited)
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
