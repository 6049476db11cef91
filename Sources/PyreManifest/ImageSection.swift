import Foundation
import PyreCore

/// `images:` — how to bake each image.
enum ImageSection {
    static let keys = ["context", "build", "run", "env", "build_timeout", "ami", "user"]

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
                user: try image.optional("user").map(readUser))
        }
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
