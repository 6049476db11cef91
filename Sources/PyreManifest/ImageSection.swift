import Foundation
import PyreCore

/// `images:` — how to bake each image.
enum ImageSection {
    static let keys = ["base", "context", "workdir", "build", "build_network", "run", "env", "build_timeout", "ami", "user",
                       "tmpfs_size"]

    static func read(_ value: ManifestValue, directory: URL) throws -> [ImageRecipe] {
        let images = try value.mapping(expecting: "a mapping of image names to images, e.g. web: { context: ./web, run: ... }")
        return try images.entries.map { entry in
            let name = try SectionName.read(entry.key, kind: "image")
            let image = try entry.value.mapping(expecting: "an image with context: and run:", allowedKeys: keys)
            return ImageRecipe(
                name: name,
                context: try readContext(image.required("context"), directory: directory),
                build: try image.optional("build").map {
                    try $0.stringList(expecting: "a list of shell commands or a single command") { [$0] }
                } ?? [],
                run: try readRun(image.required("run")),
                env: try image.optional("env").map(EnvironmentSection.read) ?? [:],
                buildTimeout: try image.optional("build_timeout").map { try $0.duration(name: "build_timeout") }
                    ?? .seconds(600),
                amis: try image.optional("ami").map(AWSSection.readAMIs) ?? [:],
                user: try image.optional("user").map(readUser),
                base: try image.optional("base").map { try readBase($0, directory: directory) },
                workdir: try readWholeServerOnly(image, "workdir", readWorkdir) ?? "/app",
                buildNetwork: try readWholeServerOnly(image, "build_network") { try $0.bool() } ?? false,
                tmpfsBytes: try readWholeServerOnly(image, "tmpfs_size", readTmpfsSize) ?? ImageRecipe.defaultTmpfsBytes,
                lockFile: directory.appendingPathComponent("pyre.lock"))
        }
    }

    /// A field that means something only for a whole-server image.
    private static func readWholeServerOnly<T>(_ image: ManifestMapping, _ key: String,
                                               _ read: (ManifestValue) throws -> T) throws -> T? {
        guard let value = image.optional(key) else { return nil }
        guard image.optional("base") != nil else {
            throw value.error("\(key) applies to whole-server images only; add a base: (e.g. base: { debian: bookworm }) or remove \(key)")
        }
        return try read(value)
    }

    /// `{ debian: SUITE, packages: [...], mirror: URL }`, `{ rootfs: FILE }` or `{ oci: DIR }`.
    private static func readBase(_ value: ManifestValue, directory: URL) throws -> ImageBase {
        let base = try value.mapping(expecting: "a base such as { debian: bookworm, packages: [python3] }, { rootfs: ./base.tar } or { oci: ./layout }",
                                     allowedKeys: ["debian", "packages", "mirror", "rootfs", "oci"])
        let kinds = ["debian", "rootfs", "oci"].filter { base.optional($0) != nil }
        guard kinds.count == 1 else {
            throw value.error(kinds.isEmpty ? "base needs one of debian:, rootfs: or oci:, e.g. { debian: bookworm, packages: [python3] }"
                                            : "base has \(kinds.joined(separator: " and ")); give only one")
        }
        if let suite = base.optional("debian") {
            let name = try suite.string(expecting: "a Debian suite such as bookworm")
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.".contains($0)) }) else {
                throw suite.error("'\(name)' is not a Debian suite name such as bookworm or trixie")
            }
            let packages: [String] = try base.optional("packages").map { value in
                let names = try value.stringList(expecting: "a list of Debian package names") { [$0] }
                if let bad = names.first(where: { name in
                    name.isEmpty || !name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "+-.".contains($0)) }
                }) {
                    throw value.error("'\(bad)' is not a Debian package name (lowercase letters, digits, + - .)")
                }
                return names
            } ?? []
            let mirror: String? = try base.optional("mirror").map { value in
                let text = try value.string(expecting: "a mirror URL such as http://deb.debian.org/debian")
                guard text.contains("://") else { throw value.error("mirror '\(text)' is not a URL such as http://deb.debian.org/debian") }
                return text
            }
            return .debian(suite: name, packages: packages, mirror: mirror)
        }
        for key in ["packages", "mirror"] where base.optional(key) != nil {
            throw base.optional(key)!.error("\(key) belongs to a debian: base")
        }
        if let archive = base.optional("rootfs") {
            return .rootfs(try existingPath(archive, directory: directory, directoryExpected: false,
                                            example: "a tar of a root filesystem such as ./base.tar"))
        }
        let layout = try existingPath(base.optional("oci")!, directory: directory, directoryExpected: true,
                                      example: "an OCI image layout directory such as ./layout")
        guard FileManager.default.fileExists(atPath: layout.appendingPathComponent("index.json").path) else {
            throw base.optional("oci")!.error("\(layout.path) has no index.json, so it is not an OCI image layout "
                + "(make one with `skopeo copy docker://IMAGE oci:DIR` or `pyre image export`)")
        }
        return .oci(layout)
    }

    private static func existingPath(_ value: ManifestValue, directory: URL, directoryExpected: Bool, example: String) throws -> URL {
        let path = try value.string(expecting: example)
        let url = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard !path.isEmpty, FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw value.error("\(path.isEmpty ? "(empty)" : path) does not exist (looked for \(url.path)); give \(example), "
                + "relative to the manifest's directory")
        }
        guard isDirectory.boolValue == directoryExpected else {
            throw value.error("\(path) is \(directoryExpected ? "a file" : "a directory"); give \(example)")
        }
        return url
    }

    /// An absolute path below `/` where the context goes.
    private static func readWorkdir(_ value: ManifestValue) throws -> String {
        let path = try value.string(expecting: "an absolute path such as /app")
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard path.hasPrefix("/"), !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw value.error("workdir '\(path)' must be an absolute path below / such as /app or /srv/web")
        }
        return path
    }

    private static func readTmpfsSize(_ value: ManifestValue) throws -> Int {
        let text = try value.string(expecting: "a size such as 64MiB")
        guard let bytes = LogsSection.parseSize(text), bytes >= 1 << 20 else {
            throw value.error("tmpfs_size must be a size of at least 1MiB such as 64MiB or 1GiB, got '\(text)'")
        }
        return bytes
    }

    /// The context directory, resolved against the manifest's directory; it must exist now,
    /// so that a typo fails here rather than halfway through a bake.
    private static func readContext(_ value: ManifestValue, directory: URL) throws -> URL {
        let path = try value.string(expecting: "a directory path such as ./web")
        guard !path.isEmpty else { throw value.error("context is empty; give a directory such as ./web") }
        let url = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path))
            .standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw value.error("context directory \"\(path)\" does not exist (looked for \(url.path)); "
                              + "paths are relative to the manifest's directory")
        }
        guard isDirectory.boolValue else {
            throw value.error("context \"\(path)\" is a file; give the directory that holds the files to bake")
        }
        return url
    }

    /// `NAME`, `UID` or either with `:GROUP`: who a server runs as. Whether the name exists is
    /// the host's business (a server fails to start otherwise); its form is checked here.
    private static func readUser(_ value: ManifestValue) throws -> String {
        let user = try value.string(expecting: "a user such as app, 1000 or app:app")
        let parts = user.split(separator: ":", omittingEmptySubsequences: false)
        let valid = (1...2).contains(parts.count) && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 32 && part.first != "-"
                && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
        }
        guard valid else {
            throw value.error("user \"\(user)\" is not a user name or number with an optional :group, e.g. app, 1000 or app:app")
        }
        return user
    }

    /// A list is the argv; a single string runs through `/bin/sh -c`.
    private static func readRun(_ value: ManifestValue) throws -> [String] {
        let argv = try value.stringList(expecting: "a command: a list such as [python3, app.py] or a shell string") {
            ["/bin/sh", "-c", $0]
        }
        guard let program = argv.first, !program.isEmpty else {
            throw value.error("run is empty; give the command a server runs, e.g. [python3, app.py]")
        }
        return argv
    }
}
