#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import Logging
import PyreCore
import PyrePOSIX

/// Bakes a whole-server image (a recipe with `base:`) from layers: the base, the image's
/// user, the context at `workdir`, then each build step's result. Each layer is addressed
/// by the digest of what made it and everything below it, kept in the machine's
/// ``LayerStore`` and made only when missing, so changing the app rebuilds the context
/// layer and the steps above it, nothing below. The image's root is the layers merged
/// (``LayerMerge``), its files hard links into the cache; its `contentDigest` is the
/// ``RootListing`` digest of that tree.
struct WholeServerBaker {
    let store: ImageStore
    let layers: LayerStore
    /// Resolve a `debian:` base's packages again instead of installing the locked versions.
    let updateLock: Bool
    let logger: Logger

    /// One layer of the recipe, before it is made.
    struct PlannedLayer {
        enum Kind {
            case base(ImageBase, locked: [String]?)
            case user(String)
            case context
            case step(number: Int, command: String)
        }

        var kind: Kind
        var key: ImageDigest
        var description: String
    }

    /// The image's address: its layers' keys and how its servers run.
    func digest(of recipe: ImageRecipe) throws -> ImageDigest {
        address(of: recipe, layers: try plan(recipe, lock: lock(for: recipe)))
    }

    /// Holds the layer cache's lock shared throughout (a collection waits for the bake), and
    /// registers the image store in the cache, so collections run from any system keep the
    /// layers of its images.
    func bake(_ recipe: ImageRecipe, progress: @escaping @Sendable (BakeProgress) -> Void) async throws -> BakedImage {
        try await layers.whileUsing {
            try layers.register(store)
            return try await bakeHoldingTheCache(recipe, progress: progress)
        }
    }

    private func bakeHoldingTheCache(_ recipe: ImageRecipe, progress: @escaping @Sendable (BakeProgress) -> Void) async throws -> BakedImage {
        let lock = try lock(for: recipe)
        var planned = try plan(recipe, lock: lock)
        if let existing = store.image(for: address(of: recipe, layers: planned)), planned.allSatisfy({ layers.layer(for: $0.key) != nil }) {
            progress(.cached(image: recipe.name, digest: existing.digest))
            var image = existing
            image.name = recipe.name
            return image
        }
        guard getuid() == 0 else {
            throw PyreError(.bake, "image '\(recipe.name)' is a whole-server image (it has `base:`): baking one mounts its layers "
                + "and needs root; run as root, or remove `base:` to bake a host-OS image")
        }
        if case .base(.debian(let suite, let packages, _), nil) = planned[0].kind, !updateLock,
           let resolved = layers.resolution(of: planned[0].key), let base = layers.layer(for: resolved) {
            // Resolved here before, for another system or before the lock was lost: lock that.
            try writeLock(for: recipe, suite: suite, packages: packages, installed: try BaseMaker.installedPackages(in: base.tree))
            planned = try plan(recipe, lock: self.lock(for: recipe), locking: true)
        }
        var made: [Layer] = []
        for index in planned.indices {
            let layer = try await make(planned[index], recipe: recipe, below: made, progress: progress)
            if layer.key != planned[index].key {
                // A base resolved now (first bake, or --update): its versions are locked, and
                // the keys of the layers above it follow from them.
                planned = try plan(recipe, lock: self.lock(for: recipe), locking: true)
            }
            made.append(layer)
        }
        let digest = address(of: recipe, layers: planned)
        if var existing = store.image(for: digest) {
            existing.name = recipe.name
            progress(.cached(image: recipe.name, digest: digest))
            return existing
        }
        return try assemble(recipe, digest: digest, from: made, progress: progress)
    }

    // MARK: - Layers

    /// The layers, bottom first. `locking`: the lock was just written, so it counts even
    /// with `updateLock`.
    private func plan(_ recipe: ImageRecipe, lock: PackageLock, locking: Bool = false) throws -> [PlannedLayer] {
        guard let base = recipe.base else { throw PyreError(.bake, "image '\(recipe.name)' has no base; this is a bug in Pyre") }
        var planned = [try plannedBase(base, recipe: recipe, lock: lock, locking: locking)]
        var chain = planned[0].key
        func add(_ kind: PlannedLayer.Kind, _ description: String, _ feed: (inout CanonicalHasher) throws -> Void) rethrows {
            var hasher = CanonicalHasher()
            hasher.string("pyre-layer-v1")
            hasher.string(chain.rawValue)
            try feed(&hasher)
            chain = hasher.finalize()
            planned.append(PlannedLayer(kind: kind, key: chain, description: description))
        }
        if let user = recipe.user, let name = user.split(separator: ":").first, UInt32(name) == nil, name != "root" {
            add(.user(String(name)), "user \(name)") { hasher in
                hasher.tag("u")
                hasher.string(String(name))
            }
        }
        try add(.context, "context \(recipe.context.lastPathComponent) at \(recipe.workdir)") { hasher in
            hasher.tag("c")
            hasher.string(recipe.workdir)
            try FileTree.hash(recipe.context.path, into: &hasher)
        }
        for (index, command) in recipe.build.enumerated() {
            add(.step(number: index + 1, command: command), "step \(index + 1): \(command)") { hasher in
                hasher.tag("s")
                hasher.string(command)
                hasher.integer(recipe.buildNetwork ? 1 : 0)
                let environment = recipe.env.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                hasher.strings(environment.flatMap { [$0.key, $0.value] })
            }
        }
        return planned
    }

    private func plannedBase(_ base: ImageBase, recipe: ImageRecipe, lock: PackageLock, locking: Bool = false) throws -> PlannedLayer {
        var hasher = CanonicalHasher()
        hasher.string("pyre-base-v1")
        var locked: [String]?
        switch base {
        case let .debian(suite, packages, _):
            locked = updateLock && !locking ? nil : lock.installed(for: recipe.name, suite: suite, packages: packages)
            // Unlocked, the key stands for "not resolved yet": the bake resolves and locks it.
            hasher.tag(locked == nil ? "u" : "d")
            hasher.string(suite)
            hasher.strings(locked ?? packages.sorted())
        case .rootfs(let archive):
            hasher.tag("r")
            hasher.bytes(try Self.fileDigest(archive, image: recipe.name))
        case .oci(let layout):
            hasher.tag("o")
            hasher.bytes(try Self.fileDigest(layout.appending(path: "index.json"), image: recipe.name))
        }
        return PlannedLayer(kind: .base(base, locked: locked), key: hasher.finalize(), description: "base \(base)")
    }

    /// The layer, from the cache or made now.
    private func make(_ planned: PlannedLayer, recipe: ImageRecipe, below: [Layer],
                      progress: @escaping @Sendable (BakeProgress) -> Void) async throws -> Layer {
        if let cached = layers.layer(for: planned.key) {
            progress(.layerDone(image: recipe.name, layer: planned.description, seconds: 0, bytes: cached.bytes, cached: true))
            return cached
        }
        let start = ContinuousClock.now
        // A step reports itself (its command, output and time).
        let isStep = if case .step = planned.kind { true } else { false }
        let isFetch = if case .base(.debian, _) = planned.kind { true } else { false }
        if !isStep {
            progress(.layerStarted(image: recipe.name, layer: planned.description
                + (isFetch ? " (fetched from the Debian mirror once, then cached)" : "")))
        }
        let scratch = try layers.makeScratch()
        let tree = scratch.appending(path: LayerStore.treeDirectory, directoryHint: .isDirectory)
        var key = planned.key
        do {
            switch planned.kind {
            case let .base(base, locked):
                key = try await makeBase(base, locked: locked, recipe: recipe, into: tree, plannedKey: planned.key, progress: progress)
            case .user(let name):
                try makeUser(name, base: below[0].tree, into: tree)
            case .context:
                try makeContext(recipe, into: tree)
            case let .step(number, command):
                try await runStep(number, command, recipe: recipe, below: below, scratch: scratch, progress: progress)
            }
            let layer = try layers.install(scratch: scratch, key: key, description: planned.description)
            if !isStep {
                progress(.layerDone(image: recipe.name, layer: planned.description,
                                    seconds: (ContinuousClock.now - start).timeInterval, bytes: layer.bytes, cached: false))
            }
            return layer
        } catch {
            try? FileTree.remove(scratch.path)
            throw error
        }
    }

    /// Makes the base; returns its key, which for an unlocked `debian:` base follows from
    /// the versions it resolved.
    private func makeBase(_ base: ImageBase, locked: [String]?, recipe: ImageRecipe, into tree: URL, plannedKey: ImageDigest,
                          progress: @escaping @Sendable (BakeProgress) -> Void) async throws -> ImageDigest {
        let maker = BaseMaker(image: recipe.name, progress: progress, timeout: recipe.buildTimeout)
        var key = plannedKey
        switch base {
        case let .debian(suite, packages, mirror):
            let installed = try await maker.debian(suite: suite, packages: packages, mirror: mirror, locked: locked, into: tree)
            if locked == nil {
                try writeLock(for: recipe, suite: suite, packages: packages, installed: installed)
                key = try plannedBase(base, recipe: recipe, lock: self.lock(for: recipe), locking: true).key
                try layers.recordResolution(of: plannedKey, as: key)
            }
        case .rootfs(let archive):
            try await maker.rootfs(archive, into: tree)
        case .oci(let layout):
            try await OCIImport(image: recipe.name, maker: maker).unpack(layout, into: tree)
        }
        try RootNormalisation.apply(to: tree)
        try RootNormalisation.refuseSpecialFiles(in: tree)
        return key
    }

    private func makeUser(_ name: String, base: URL, into tree: URL) throws {
        let accounts = ImageAccounts(root: base)
        let passwd = (try? String(contentsOf: base.appending(path: "etc/passwd"), encoding: .utf8)) ?? ""
        let group = (try? String(contentsOf: base.appending(path: "etc/group"), encoding: .utf8)) ?? ""
        guard let added = accounts.adding(user: name, passwd: passwd, group: group) else { return }
        let etc = tree.appending(path: "etc")
        guard mkdir(etc.path, 0o755) == 0 else { throw posixError("cannot create", etc.path) }
        try added.passwd.write(to: etc.appending(path: "passwd"), atomically: false, encoding: .utf8)
        try added.group.write(to: etc.appending(path: "group"), atomically: false, encoding: .utf8)
        for file in ["passwd", "group"] { try FileTree.setMode(of: etc.path + "/" + file) { _ in 0o644 } }
    }

    private func makeContext(_ recipe: ImageRecipe, into tree: URL) throws {
        let target = tree.appending(path: String(recipe.workdir.dropFirst()))
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileTree.copy(recipe.context.path, to: target.path)
    }

    /// Runs the step in the layers so far (an overlay with the new layer on top, in
    /// `pyre-sandbox build`); what it writes is the layer.
    private func runStep(_ number: Int, _ command: String, recipe: ImageRecipe, below: [Layer], scratch: URL,
                         progress: @escaping @Sendable (BakeProgress) -> Void) async throws {
        let work = scratch.appending(path: "work"), merged = scratch.appending(path: "merged")
        for directory in [work, merged] {
            guard mkdir(directory.path, 0o700) == 0 else { throw posixError("cannot create", directory.path) }
        }
        let lowers = below.reversed().map(\.tree.path)
        if let bad = lowers.first(where: { $0.contains(":") || $0.contains(",") }) {
            throw PyreError(.bake, "the layer cache path \(bad) holds ':' or ','; set PYRE_LAYER_CACHE to a plain path")
        }
        let helper = try SandboxHelper.path(for: "baking a whole-server image", otherwise: "reinstall Pyre")
        let arguments = [helper, "build"] + (recipe.buildNetwork ? ["-n"] : [])
            + [lowers.joined(separator: ":"), scratch.appending(path: LayerStore.treeDirectory).path, work.path, merged.path,
               recipe.workdir, command]
        var environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
                           "LC_ALL": "C.UTF-8", "SOURCE_DATE_EPOCH": BaseMaker.sourceDateEpoch]
        environment.merge(recipe.env) { _, recipeValue in recipeValue }
        progress(.started(image: recipe.name, step: number, of: recipe.build.count, command: command))
        let start = ContinuousClock.now
        let name = recipe.name
        let outcome = try await BuildStep.run(arguments: arguments, in: URL(fileURLWithPath: "/"), environment: environment,
                                              timeout: recipe.buildTimeout) { line in progress(.output(image: name, line: line)) }
        guard outcome.termination == .exited(code: 0) else {
            throw ImageBaker.failure(of: recipe, step: number, command: command, outcome: outcome)
        }
        progress(.finished(image: recipe.name, step: number, seconds: (ContinuousClock.now - start).timeInterval))
    }

    // MARK: - The image

    private func assemble(_ recipe: ImageRecipe, digest: ImageDigest, from made: [Layer],
                          progress: @escaping @Sendable (BakeProgress) -> Void) throws -> BakedImage {
        let start = ContinuousClock.now
        let scratch = try store.makeScratchDirectory()
        do {
            let root = scratch.appending(path: ImageStore.filesDirectory, directoryHint: .isDirectory)
            guard mkdir(root.path, 0o755) == 0 else { throw posixError("cannot create", root.path) }
            var known: [String: RootListing.KnownFile] = [:]
            for layer in made { try LayerMerge.apply(layer.tree, onto: root, contents: layers.contents(of: layer), known: &known) }
            try RootNormalisation.apply(to: root)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.path + recipe.workdir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw PyreError(.bake, "image '\(recipe.name)': a build step removed the working directory \(recipe.workdir); keep it")
            }
            let contentDigest = try RootListing(of: root, known: known).digest
            let image = try store.install(scratch: scratch, name: recipe.name, digest: digest, contentDigest: contentDigest,
                                          base: recipe.base?.description, layers: made.map(\.key),
                                          runtime: ImageRuntime(recipe))
            progress(.layerDone(image: recipe.name, layer: "root \(contentDigest.short) from \(made.count) layers",
                                seconds: (ContinuousClock.now - start).timeInterval, bytes: 0, cached: false))
            logger.info("baked whole-server image", metadata: ["image": "\(recipe.name)", "digest": "\(digest)",
                                                               "root": "\(contentDigest)"])
            return image
        } catch {
            try? FileTree.remove(scratch.path)
            throw error
        }
    }

    private func address(of recipe: ImageRecipe, layers planned: [PlannedLayer]) -> ImageDigest {
        var hasher = CanonicalHasher()
        hasher.string("pyre-image-v2")
        hasher.strings(planned.map(\.key.rawValue))
        hasher.strings(recipe.run)
        let environment = recipe.env.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        hasher.strings(environment.flatMap { [$0.key, $0.value] })
        hasher.string(recipe.workdir)
        hasher.string(recipe.user ?? "")
        return hasher.finalize()
    }

    // MARK: - The lock

    private func lock(for recipe: ImageRecipe) throws -> PackageLock {
        guard let file = recipe.lockFile else { return PackageLock() }
        return try PackageLock.load(from: file)
    }

    private func writeLock(for recipe: ImageRecipe, suite: String, packages: [String], installed: [String]) throws {
        guard let file = recipe.lockFile else { return }
        var lock = try PackageLock.load(from: file)
        lock.images[recipe.name] = .init(suite: suite, packages: packages.sorted(), installed: installed)
        try lock.write(to: file)
    }

    private static func fileDigest(_ file: URL, image: String) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw PyreError(.bake, "image '\(image)': cannot read \(file.path); check the path in `base:`")
        }
        defer { try? handle.close() }
        var sha = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { sha.update(data: chunk) }
        return Array(sha.finalize())
    }
}
