import ArgumentParser
import Foundation
import PyreAPI
import PyreCore
import PyreEvents
import PyreImages
import PyreManifest
import PyreProgress

#if canImport(Glibc)
import Glibc
#endif

/// `pyre image`: the system's baked images and the machine's layer cache.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Export, list and collect the system's baked images and the machine's layer cache.",
        subcommands: [ImageExport.self, ImageList.self, ImageGC.self])
}

struct ImageExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a whole-server image as an OCI image layout (for skopeo, podman, umoci, a registry).",
        discussion: """
        The layout holds one image named `latest` with one uncompressed layer, the image's root, written
        deterministically (the same image gives the same bytes anywhere). Its config runs the recipe's `run` in
        its `workdir` with its `env` as its `user` (65534:65534, nobody, when it names none, as Pyre runs it).
        `skopeo copy oci:DIR docker://REGISTRY/NAME` ships it; `base: { oci: DIR }` bakes on it.
        """)

    @Argument(help: "An image of pyre.yml (baked first when it is not yet), or the first digits of a baked image's digest.")
    var image: String

    @Option(help: "The OCI layout directory to write; it must not exist or be empty.")
    var oci: String

    @OptionGroup var options: SystemOptions

    func run() async throws {
        try await reportingErrors {
            let (baked, runtime) = try await resolve()
            let start = ContinuousClock.now
            let result = try OCIExport(image: baked, runtime: runtime).write(to: URL(fileURLWithPath: oci))
            let seconds = (ContinuousClock.now - start).timeInterval
            print("\(baked.name)  \(baked.digest.short)  root \(baked.contentDigest.short)  exported to \(result.layout.path) "
                  + String(format: "in %.1fs", seconds))
            print("  \(result.reference): manifest \(result.manifest), one layer of \(formatBytes(result.layerBytes)) (\(result.layer))")
        }
    }

    /// The image and how its servers run: a recipe of pyre.yml (baked now unless cached), or
    /// a baked image by digest.
    private func resolve() async throws -> (BakedImage, ImageRuntime?) {
        let store = ImageStore(root: options.state.images)
        let spec: SystemSpec
        do {
            spec = try Manifest.load(directory: options.systemURL)
        } catch {
            // No readable manifest: a digest still names a baked image.
            guard let found = try pick(store.images(matching: image)) else { throw error }
            return (found, nil)
        }
        if let recipe = spec.image(named: image) {
            guard recipe.isWholeServer else {
                throw CLIFailure(message: "image '\(image)' is a host-OS image (it has no `base:`): its files are only the app's, "
                    + "which run on the host's operating system, so it is no OCI image; give it a `base:` to export it", code: 1)
            }
            try options.state.create()
            let baked = try await ImageBaker(store: store).bake(recipe) { event in Terminal.progress(ProgressEvent(event)) }
            return (baked, ImageRuntime(recipe))
        }
        guard let found = try pick(store.images(matching: image)) else {
            let names = spec.images.map(\.name).joined(separator: ", ")
            throw CLIFailure(message: "no image '\(image)' in \(options.systemURL.path)/\(Manifest.fileName) (it has: \(names)) and no "
                + "baked image whose digest starts with it; `pyre image ls` lists the baked ones", code: 1)
        }
        // A digest of a current recipe runs as that recipe says; others as recorded when baked.
        let recipe = spec.images.first { (try? ImageBaker(store: store).digest(of: $0)) == found.digest }
        return (found, recipe.map(ImageRuntime.init) ?? found.runtime)
    }

    private func pick(_ matches: [BakedImage]) throws -> BakedImage? {
        guard matches.count <= 1 else {
            throw CLIFailure(message: "'\(image)' starts the digests of \(matches.count) images ("
                + matches.map { "\($0.name) \($0.digest.short)" }.joined(separator: ", ") + "); give more digits", code: 1)
        }
        return matches.first
    }
}

struct ImageList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the system's baked images and the machine's layer cache, with their sizes.",
        discussion: """
        Sizes count each file once: a whole-server image's files are hard links into the layer cache, shared by
        every image and system baked on the machine. IN USE says whether a server of the running agent uses the
        image ("-" when no agent runs). IMAGES counts the images of every system on the machine that use a layer.
        """)

    @OptionGroup var options: SystemOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Listing: Codable {
        struct Image: Codable {
            var name: String
            var digest: String
            var rootDigest: String
            /// nil: a host-OS image.
            var base: String?
            var bytes: Int64
            var layers: [String]
            var bakedAt: Date
            /// nil when no agent runs.
            var inUse: Bool?

            enum CodingKeys: String, CodingKey {
                case name, digest, base, bytes, layers
                case rootDigest = "root_digest"
                case bakedAt = "baked_at"
                case inUse = "in_use"
            }
        }

        struct Layer: Codable {
            var key: String
            var description: String
            var bytes: Int64
            /// Images of all systems on the machine that use it; nil when a store could not be read.
            var images: Int?
            var createdAt: Date

            enum CodingKeys: String, CodingKey {
                case key, description, bytes, images
                case createdAt = "created_at"
            }
        }

        var store: String
        var images: [Image]
        /// The system's images' files, each once.
        var imageBytes: Int64
        var layerCache: String
        var layers: [Layer]
        /// The cache's files, each once.
        var layerBytes: Int64
        /// Images and layers together, each file once.
        var bytes: Int64

        enum CodingKeys: String, CodingKey {
            case store, images, layers, bytes
            case imageBytes = "image_bytes"
            case layerCache = "layer_cache"
            case layerBytes = "layer_bytes"
        }
    }

    func run() async throws {
        try await reportingErrors {
            let listing = try await list()
            if json { return try printJSON(listing) }
            print("images in \(listing.store):")
            let imageRows = listing.images.map { image in
                [image.name, ImageDigest(image.digest).short, ImageDigest(image.rootDigest).short, image.base ?? "host OS",
                 formatBytes(image.bytes), image.base == nil ? "-" : String(image.layers.count), formatDate(image.bakedAt),
                 image.inUse.map { $0 ? "yes" : "no" } ?? "-"]
            }
            printTable(["NAME", "DIGEST", "ROOT", "BASE", "SIZE", "LAYERS", "BAKED (UTC)", "IN USE"], imageRows)
            print("\(listing.images.count) images, \(formatBytes(listing.imageBytes)) (each file counted once)")
            print("")
            print("layer cache \(listing.layerCache) (shared by every system on this machine):")
            let layerRows = listing.layers.map { layer in
                [ImageDigest(layer.key).short, layer.description, formatBytes(layer.bytes), layer.images.map(String.init) ?? "?"]
            }
            printTable(["KEY", "DESCRIPTION", "SIZE", "IMAGES"], layerRows)
            print("\(listing.layers.count) layers, \(formatBytes(listing.layerBytes)); images and layers together "
                  + "\(formatBytes(listing.bytes)) on disk")
        }
    }

    private func list() async throws -> Listing {
        let store = ImageStore(root: options.state.images)
        let cache = LayerStore.machineDefault()
        // The running agent's servers, if it runs.
        let live: Set<String>? = if let client = try? ControlClient(state: options.state), let status = try? await client.status() {
            Set(status.services.flatMap(\.servers).map(\.image))
        } else {
            nil
        }
        var imageUsage = DiskUsage(), all = DiskUsage(), layerUsage = DiskUsage()
        var images: [Listing.Image] = []
        for image in store.all() {
            let usage = try DiskUsage.of(image.root)
            try imageUsage.add(image.root)
            try all.add(image.root)
            images.append(Listing.Image(
                name: image.name, digest: image.digest.rawValue, rootDigest: image.contentDigest.rawValue, base: image.base,
                bytes: usage.bytes, layers: image.layers.map(\.rawValue), bakedAt: image.bakedAt,
                inUse: live.map { $0.contains(image.digest.rawValue) }))
        }
        let counts = try? cache.imagesUsingLayers().counts
        var layers: [Listing.Layer] = []
        for layer in cache.all() {
            let usage = try DiskUsage.of(layer.tree)
            try layerUsage.add(layer.tree)
            try all.add(layer.tree)
            layers.append(Listing.Layer(key: layer.key.rawValue, description: layer.description, bytes: usage.bytes,
                                        images: counts.map { $0[layer.key] ?? 0 }, createdAt: layer.createdAt))
        }
        return Listing(store: store.root.path, images: images, imageBytes: imageUsage.bytes, layerCache: cache.root.path,
                       layers: layers, layerBytes: layerUsage.bytes, bytes: all.bytes)
    }
}

struct ImageGC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove the system's images nothing needs, then the machine's layers no image uses.",
        discussion: """
        Keeps the images that live servers use, and those the fleet ran after each of the last N deployments that \
        changed which images run (--keep); removes the system's other images (an image baked but never deployed \
        too), then the layers of the machine's layer cache ($PYRE_LAYER_CACHE, else /var/cache/pyre/layers for \
        root) that no image of any system on the machine uses.

        While the system's agent runs, the agent does the collection (POST /v1/images/gc): it knows what its \
        servers run and what its deploys are baking. Without one, pyre reads the agent's journal \
        (STATE/persistent/events.sqlite) and the local servers' records itself, holding the state directory's \
        lock so that no agent starts meanwhile. Either way it fails, changing nothing, while an image is being \
        baked on this machine. The agent also removes unused images after each successful deploy, keeping \
        `pyre up --keep-deployments` deployments' (default 3); layers only go with `pyre image gc`.
        """)

    @OptionGroup var options: SystemOptions

    @Option(help: "How many past deployments' images to keep.")
    var keep: Int = 3

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard keep >= 0 else { throw ValidationError("--keep must be 0 or more") }
    }

    func run() async throws {
        try await reportingErrors {
            let report: ImageGCReport
            if let client = try? ControlClient(state: options.state) {
                report = try await client.collectImages(keep: keep)
            } else {
                report = try await collectWithoutAgent()
            }
            if json { return try printJSON(report) }
            for digest in report.removedImages { print("removed image \(ImageDigest(digest).short)") }
            for layer in report.removedLayers {
                print("removed layer \(ImageDigest(layer.key).short)  \(layer.description)  \(formatBytes(layer.bytes))")
            }
            for store in report.droppedStores { print("forgot the image store \(store), which is gone") }
            print("removed \(report.removedImages.count) images (\(formatBytes(report.imageBytesFreed)) freed) and "
                  + "\(report.removedLayers.count) layers (\(formatBytes(report.layerBytesFreed)) freed); kept \(report.inUse.count) "
                  + "images (in use or in the last \(report.keptDeployments) deployments) and \(report.keptLayers) layers")
        }
    }

    /// What the agent would do, from its journal and the local provider's server records.
    private func collectWithoutAgent() async throws -> ImageGCReport {
        let state = options.state
        let lock = FileManager.default.fileExists(atPath: state.root.path) ? try StateLock(file: state.lockFile) : nil
        defer { withExtendedLifetime(lock) {} }
        var history = AgentState()
        if FileManager.default.fileExists(atPath: state.eventsDatabase.path) {
            let events = try SQLiteEventStore(path: state.eventsDatabase)
            do {
                history = AgentState(replaying: try await AgentJournal(store: events).replay())
            } catch {
                await events.close()
                throw error
            }
            await events.close()
        }
        let inUse = history.imagesToKeep(lastDeployments: keep).union(Self.serverImages(in: state.servers))
        return ImageGCReport(try ImageCollector(store: ImageStore(root: state.images)).collect(keeping: inUse), keptDeployments: keep)
    }

    /// The images of every server the local provider has a record of (`servers/ID/server.json`),
    /// whatever the journal says: a server whose creation the journal missed still runs on its image.
    static func serverImages(in servers: URL) -> Set<ImageDigest> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: servers.path)) ?? []
        return Set(names.compactMap { name in
            guard let data = FileManager.default.contents(atPath: servers.appending(path: "\(name)/server.json").path),
                  let record = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let info = record["info"] as? [String: Any], let image = info["image"] as? String else { return nil }
            return ImageDigest(image)
        })
    }
}

/// The state directory's agent lock (`STATE/agent.lock`, as the agent takes it), held while
/// `pyre image gc` works without an agent.
private final class StateLock {
    private let descriptor: Int32

    init(file: URL) throws {
        descriptor = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw PyreError(.agent, "cannot open \(file.path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw PyreError(.agent, "an agent holds \(file.path) but has not written agent.json yet (starting or stopping); "
                + "run `pyre image gc` again in a moment")
        }
    }

    deinit { close(descriptor) }
}

func formatBytes(_ bytes: Int64) -> String {
    switch bytes {
    case ..<1_000: "\(bytes) B"
    case ..<1_000_000: String(format: "%.1f kB", Double(bytes) / 1_000)
    case ..<1_000_000_000: String(format: "%.1f MB", Double(bytes) / 1_000_000)
    default: String(format: "%.2f GB", Double(bytes) / 1_000_000_000)
    }
}

private func formatDate(_ date: Date) -> String {
    date.formatted(.iso8601.year().month().day().dateTimeSeparator(.space).time(includingFractionalSeconds: false))
}

/// Columns padded to their widest cell, two spaces apart.
private func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}
