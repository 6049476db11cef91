import Foundation
import PyreCore

/// File operations on server directories, which hold read-only copies of images.
enum FileTree {
    /// Copies the tree at `source` to `destination` (which must not exist), making everything
    /// owner-writable: a process-mode server gets a private, writable scratch copy.
    static func copyWritable(from source: URL, to destination: URL) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: source.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PyreError(.provider, "image directory \(source.path) does not exist; bake the image first")
        }
        try manager.createDirectory(at: destination, withIntermediateDirectories: false)
        for name in try manager.contentsOfDirectory(atPath: source.path) {
            let from = source.appendingPathComponent(name)
            let to = destination.appendingPathComponent(name)
            let attributes = try manager.attributesOfItem(atPath: from.path)
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?:
                try copyWritable(from: from, to: to)
            case .typeSymbolicLink?:
                try manager.createSymbolicLink(atPath: to.path, withDestinationPath: manager.destinationOfSymbolicLink(atPath: from.path))
            default:
                try manager.copyItem(at: from, to: to)
                try addPermissions(0o200, to: to)
            }
        }
        let mode = (try manager.attributesOfItem(atPath: source.path)[.posixPermissions] as? Int) ?? 0o755
        try manager.setAttributes([.posixPermissions: mode | 0o700], ofItemAtPath: destination.path)
    }

    /// Removes `url` and everything under it, first making read-only directories writable.
    /// A missing tree is fine.
    static func remove(_ url: URL) throws {
        let manager = FileManager.default
        guard (try? manager.attributesOfItem(atPath: url.path)) != nil else { return }
        if let items = manager.enumerator(atPath: url.path) {
            for case let relative as String in items {
                let item = url.appendingPathComponent(relative)
                if (try? manager.attributesOfItem(atPath: item.path)[.type] as? FileAttributeType) == .typeDirectory {
                    try? addPermissions(0o700, to: item)
                }
            }
        }
        try? addPermissions(0o700, to: url)
        try manager.removeItem(at: url)
    }

    private static func addPermissions(_ bits: Int, to url: URL) throws {
        let manager = FileManager.default
        let mode = (try manager.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) ?? 0
        try manager.setAttributes([.posixPermissions: mode | bits], ofItemAtPath: url.path)
    }
}
