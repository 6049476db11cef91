import Foundation
import Logging
import PyreCore

/// Bakes image recipes into the image store. A whole-server image (`base:`) is baked from
/// layers by ``WholeServerBaker``; what follows is a host-OS image.
///
/// A bake copies the context into a scratch directory in the store, runs each build
/// step there with `/bin/sh -c`, freezes the result read-only and renames it to its
/// digest. Build steps see the recipe's env on top of `PATH` and a private, throwaway
/// `HOME` (so caches written there stay out of the image and out of the user's home).
/// Note that steps run in the scratch path, not the image's final path.
public struct ImageBaker: Sendable {
    public let store: ImageStore
    public let layers: LayerStore
    /// `pyre bake --update`: resolve `debian:` bases' packages again instead of installing
    /// the versions in pyre.lock.
    public let updateLock: Bool
    private let logger: Logger

    public init(store: ImageStore, layers: LayerStore = .machineDefault(), updateLock: Bool = false,
                logger: Logger = Logger(label: "pyre.images")) {
        self.store = store
        self.layers = layers
        self.updateLock = updateLock
        self.logger = logger
    }

    private var wholeServer: WholeServerBaker {
        WholeServerBaker(store: store, layers: layers, updateLock: updateLock, logger: logger)
    }

    /// Digest of a recipe's inputs, without building: SHA-256 over a canonical,
    /// length-prefixed encoding of the build steps, the run command, the env (sorted by
    /// key) and the context's file tree (see `treeDigest(of:)`). The recipe's name, the
    /// context's absolute path and the build timeout are left out, so the same inputs
    /// give the same digest on any machine.
    public func digest(of recipe: ImageRecipe) throws -> ImageDigest {
        try checkContext(of: recipe)
        if recipe.isWholeServer { return try wholeServer.digest(of: recipe) }
        var hasher = CanonicalHasher()
        hasher.string("pyre-image-v1")
        hasher.tag("b")
        hasher.strings(recipe.build)
        hasher.tag("r")
        hasher.strings(recipe.run)
        hasher.tag("v")
        let environment = recipe.env.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        hasher.integer(UInt64(environment.count))
        for (key, value) in environment {
            hasher.string(key)
            hasher.string(value)
        }
        hasher.tag("t")
        try FileTree.hash(recipe.context.path, into: &hasher)
        return hasher.finalize()
    }

    /// Bakes `recipe` unless an image with the same digest exists; then it reports
    /// `.cached`, runs nothing and returns that image.
    /// - Throws: `PyreError(.bake)` naming the image and step when a step fails or times
    ///   out, with the last 20 lines of its output.
    public func bake(_ recipe: ImageRecipe,
                     progress: @escaping @Sendable (BakeProgress) -> Void = { _ in }) async throws -> BakedImage {
        if recipe.isWholeServer {
            try checkContext(of: recipe)
            return try await wholeServer.bake(recipe, progress: progress)
        }
        let digest = try digest(of: recipe)
        if var existing = store.image(for: digest) {
            logger.debug("image is cached", metadata: ["image": "\(recipe.name)", "digest": "\(digest)"])
            progress(.cached(image: recipe.name, digest: digest))
            existing.name = recipe.name
            return existing
        }
        logger.info("baking image", metadata: ["image": "\(recipe.name)", "digest": "\(digest)"])
        let scratch = try store.makeScratchDirectory()
        do {
            let files = scratch.appending(path: ImageStore.filesDirectory, directoryHint: .isDirectory)
            let home = scratch.appending(path: "home", directoryHint: .isDirectory)
            try FileTree.copy(recipe.context.path, to: files.path)
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: false)
            try await runSteps(of: recipe, in: files, home: home, progress: progress)
            try FileTree.remove(home.path)
            let contentDigest = try treeDigest(of: files)
            try FileTree.freeze(files.path)
            let image = try store.install(scratch: scratch, name: recipe.name, digest: digest, contentDigest: contentDigest)
            logger.info("baked image", metadata: ["image": "\(recipe.name)", "digest": "\(digest)"])
            return image
        } catch {
            try? FileTree.remove(scratch.path)
            throw error
        }
    }

    private func runSteps(of recipe: ImageRecipe, in directory: URL, home: URL,
                          progress: @escaping @Sendable (BakeProgress) -> Void) async throws {
        var environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": home.path]
        environment.merge(recipe.env) { _, recipeValue in recipeValue }
        let name = recipe.name
        for (index, command) in recipe.build.enumerated() {
            let step = index + 1
            progress(.started(image: name, step: step, of: recipe.build.count, command: command))
            let start = ContinuousClock.now
            let outcome = try await BuildStep.run(command, in: directory, environment: environment,
                                                  timeout: recipe.buildTimeout) { line in
                progress(.output(image: name, line: line))
            }
            guard outcome.termination == .exited(code: 0) else {
                throw Self.failure(of: recipe, step: step, command: command, outcome: outcome)
            }
            progress(.finished(image: name, step: step, seconds: (ContinuousClock.now - start).timeInterval))
        }
    }

    static func failure(of recipe: ImageRecipe, step: Int, command: String, outcome: BuildStepOutcome) -> PyreError {
        let how = switch outcome.termination {
        case .exited(let code): "failed with exit code \(code)"
        case .signaled(let signal): "was killed by signal \(signal)"
        case .timedOut: "timed out after \(formatted(recipe.buildTimeout)) and was killed"
        }
        let advice = outcome.termination == .timedOut
            ? "make the step faster or raise the image's build timeout"
            : "fix the step (or the files it works on) and bake again"
        var message = "image '\(recipe.name)': build step \(step) of \(recipe.build.count) (`\(command)`) \(how); \(advice)."
        if outcome.lastLines.isEmpty {
            message += " It printed nothing."
        } else {
            message += " Last \(outcome.lastLines.count) lines of its output:\n"
            message += outcome.lastLines.map { "  | " + $0 }.joined(separator: "\n")
        }
        return PyreError(.bake, message)
    }

    private func checkContext(of recipe: ImageRecipe) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: recipe.context.path, isDirectory: &isDirectory),
              isDirectory.boolValue else {
            throw PyreError(.bake, "image '\(recipe.name)': context \(recipe.context.path) is not a directory; create it or fix the image's `context`")
        }
        // A store inside the context would change the context with every bake.
        let contextPath = recipe.context.standardizedFileURL.resolvingSymlinksInPath().path
        let storePath = store.root.standardizedFileURL.resolvingSymlinksInPath().path
        let contextPrefix = contextPath.hasSuffix("/") ? contextPath : contextPath + "/"
        if storePath == contextPath || storePath.hasPrefix(contextPrefix) {
            throw PyreError(.bake, "image '\(recipe.name)': context \(contextPath) contains the image store \(storePath); point `context` at a subdirectory or move the state directory out of it")
        }
    }

    private static func formatted(_ duration: Duration) -> String {
        let value = duration.timeInterval
        if value < 1 { return "\(Int((value * 1000).rounded()))ms" }
        return value == value.rounded() ? "\(Int(value))s" : "\(value)s"
    }
}

