#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import PyreCore

/// How the image store and the layer cache keep their entries: one directory per digest
/// under `root`, made whole in a `.scratch-<uuid>` beside it and renamed into place in one
/// step, and renamed to `.trash-<uuid>` before it is removed, so an address holds a whole
/// entry or none.
struct AddressedDirectories: Sendable {
    let root: URL
    /// What an entry is, for errors: "image", "layer".
    let noun: String
    /// What `root` is, for errors: "the image store", "the layer cache".
    let place: String
    /// What to do when `root` cannot be created.
    let advice: String

    func directory(for digest: ImageDigest) -> URL? {
        digest.hex.map { root.appending(path: $0, directoryHint: .isDirectory) }
    }

    /// A new, empty scratch directory, on the root's file system so it can be renamed into place.
    func makeScratch(mode: mode_t) throws -> URL {
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw PyreError(.bake, "cannot create \(place) \(root.path): \(error.localizedDescription); \(advice)")
        }
        let scratch = root.appending(path: ".scratch-\(UUID().uuidString)", directoryHint: .isDirectory)
        guard mkdir(scratch.path, mode) == 0 else { throw posixError("cannot create", scratch.path) }
        return scratch
    }

    /// Renames `scratch` to `target`; returns nil, or, when another bake put an entry there
    /// first, that entry (`existing()`), and `scratch` is removed.
    func moveIntoPlace<Entry>(_ scratch: URL, to target: URL, existing: () -> Entry?) throws -> Entry? {
        guard rename(scratch.path, target.path) != 0 else { return nil }
        let reason = errno
        if reason == EEXIST || reason == ENOTEMPTY, let existing = existing() {
            try FileTree.remove(scratch.path)
            return existing
        }
        errno = reason
        throw posixError("cannot move the \(noun) to", target.path)
    }

    /// Removes an entry's directory, renamed away first so a half-removed one is never found.
    func remove(_ directory: URL) throws {
        let trash = root.appending(path: ".trash-\(UUID().uuidString)").path
        guard rename(directory.path, trash) == 0 else { throw posixError("cannot remove \(noun)", directory.path) }
        try FileTree.remove(trash)
    }
}
