import Foundation
import PyreCore

/// `pyre.lock`, next to pyre.yml: for each image with a `debian:` base, the exact package
/// versions its base installed. Committed like a Package.resolved: later bakes install
/// exactly these, on any machine, until `pyre bake --update` resolves them again.
public struct PackageLock: Codable, Equatable, Sendable {
    public struct Base: Codable, Equatable, Sendable {
        public var suite: String
        /// The packages the manifest asked for, sorted: a change there resolves again.
        public var packages: [String]
        /// `name=version` of every package installed, sorted.
        public var installed: [String]
    }

    public var version = 1
    public var images: [String: Base] = [:]

    public init() {}

    /// The lock at `url`; none there is an empty lock.
    public static func load(from url: URL) throws -> PackageLock {
        guard let data = FileManager.default.contents(atPath: url.path) else { return PackageLock() }
        do {
            return try JSONDecoder().decode(PackageLock.self, from: data)
        } catch {
            throw PyreError(.bake, "\(url.path) is not a Pyre lock file (\(error)); restore it from version control, "
                + "or delete it and run `pyre bake --update` to resolve the packages again")
        }
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try (encoder.encode(self) + Data("\n".utf8)).write(to: url, options: .atomic)
        } catch {
            throw PyreError(.bake, "cannot write \(url.path): \(error.localizedDescription); check the directory's permissions")
        }
    }

    /// The locked versions for `image`'s base, when the lock was made for the same suite
    /// and packages.
    func installed(for image: String, suite: String, packages: [String]) -> [String]? {
        guard let base = images[image], base.suite == suite, base.packages == packages.sorted() else { return nil }
        return base.installed
    }
}
