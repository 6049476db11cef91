import Foundation
@testable import PyreImages
import PyreCore
import PyreTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `pyre image gc`'s library part: which images and layers go, across the systems that share
/// one layer cache, and what the sizes count.
@Suite(.enabled(if: getuid() == 0, "baking a whole-server image needs root"),
       .enabled(if: TinyRootfs.isAvailable, "needs busybox-static"))
struct ImageCollectionTests {
    /// Two systems (`a`, `b`) whose stores share one layer cache and one base.
    struct Machine {
        let directory: URL
        var layers: LayerStore { LayerStore(root: directory.appending(path: "cache")) }
        func store(_ system: String) -> ImageStore { ImageStore(root: directory.appending(path: "\(system)/state/images")) }
        func baker(_ system: String) -> ImageBaker { ImageBaker(store: store(system), layers: layers) }

        init(_ directory: URL) throws {
            self.directory = directory
            try TinyRootfs.make(at: directory.appending(path: "base.tar"))
        }

        /// A recipe of `system` whose app is one file holding `app`.
        func recipe(_ system: String, app: String) throws -> ImageRecipe {
            try write(app, to: "\(system)/app/index.html", in: directory)
            return ImageRecipe(name: "web", context: directory.appending(path: "\(system)/app"), run: ["httpd", "-f"],
                               base: .rootfs(directory.appending(path: "base.tar")))
        }
    }

    @Test func imagesNotKeptGoAndLayersGoOnlyWhenNoSystemsImageUsesThem() async throws {
        try await withTemporaryDirectory { directory in
            let machine = try Machine(directory)
            let old = try await machine.baker("a").bake(try machine.recipe("a", app: String(repeating: "old app\n", count: 1000)))
            let current = try await machine.baker("a").bake(try machine.recipe("a", app: "current app\n"))
            let other = try await machine.baker("b").bake(try machine.recipe("b", app: "b's app\n"))
            #expect(old.layers[0] == current.layers[0] && current.layers[0] == other.layers[0], "one base for all")
            let hostOS = try await ImageBaker(store: machine.store("a"), layers: machine.layers)
                .bake(recipe(context: try makeContext(in: directory.appending(path: "a/host-app"))))
            #expect(machine.layers.all().count == 4, "the base and three contexts")
            #expect(Set(machine.layers.registeredStores().map(\.store.path)) == [machine.store("a").root.path, machine.store("b").root.path])

            let hostOSBytes = try DiskUsage.of(hostOS.root).bytes
            let result = try ImageCollector(store: machine.store("a"), layers: machine.layers).collect(keeping: [current.digest])
            #expect(Set(result.removedImages) == [old.digest, hostOS.digest])
            #expect(machine.store("a").all().map(\.digest) == [current.digest])
            #expect(result.removedLayers.map(\.key) == [old.layers[1]], "only the old image's context layer")
            #expect(result.layerBytesFreed == 8000, "its one file, no longer linked from any image")
            // A host-OS image's files are its own; a whole-server image's are the cache's (but for
            // the few files every root gets written, /etc/hosts…), so removing one frees little.
            #expect(result.imageBytesFreed >= hostOSBytes && result.imageBytesFreed < hostOSBytes + 8000,
                    "\(result.imageBytesFreed) freed, \(hostOSBytes) of them the host-OS image's")
            #expect(result.keptLayers == 3 && result.keptImages == [current.digest])
            #expect(machine.store("b").image(for: other.digest) != nil, "another system's images are its own business")

            // System b goes away: its registration is dropped and its context layer with it.
            try FileTree.remove(directory.appending(path: "b").path)
            let later = try ImageCollector(store: machine.store("a"), layers: machine.layers).collect(keeping: [current.digest])
            #expect(later.removedImages.isEmpty)
            #expect(later.droppedStores == [machine.store("b").root.path])
            #expect(later.removedLayers.map(\.key) == [other.layers[1]])
            #expect(Set(machine.layers.all().map(\.key)) == Set(current.layers))
            #expect(machine.layers.registeredStores().map(\.store.path) == [machine.store("a").root.path])
            // The kept image is whole and still what it was baked as.
            #expect(try rootDigest(of: current.root) == current.contentDigest)
        }
    }

    @Test func aCollectionNeverRunsWhileABakeUsesTheCache() async throws {
        try await withTemporaryDirectory { directory in
            let machine = try Machine(directory)
            let image = try await machine.baker("a").bake(try machine.recipe("a", app: "app\n"))
            let collector = ImageCollector(store: machine.store("a"), layers: machine.layers)
            try await machine.layers.whileUsing {
                #expect { try collector.collect(keeping: []) } throws: { error in
                    (error as? PyreError)?.code == .deployRunning
                        && ((error as? PyreError)?.message ?? "").contains("an image is being baked on this machine")
                }
            }
            #expect(machine.store("a").image(for: image.digest) != nil, "nothing was removed")
            #expect(machine.layers.all().count == 2)
            // Once the bake is done it runs, and what failed bakes left goes too.
            let leftover = machine.layers.root.appending(path: ".scratch-\(UUID().uuidString)")
            try write("half a layer", to: "tree/file", in: leftover)
            let unlocked = ImageDigest(sha256: Array(repeating: 7, count: 32))
            try machine.layers.recordResolution(of: unlocked, as: image.layers[0])
            #expect(machine.layers.resolution(of: unlocked) == image.layers[0])
            let result = try collector.collect(keeping: [])
            #expect(result.removedImages == [image.digest])
            #expect(Set(result.removedLayers.map(\.key)) == Set(image.layers))
            #expect(machine.layers.all().isEmpty)
            #expect(!FileManager.default.fileExists(atPath: leftover.path))
            #expect(machine.layers.resolution(of: unlocked) == nil, "it named a layer that is gone")
        }
    }

    @Test func aRegistrationNamingNoDirectoryCountsAsAStoreThatIsGone() async throws {
        try await withTemporaryDirectory { directory in
            let machine = try Machine(directory)
            let image = try await machine.baker("a").bake(try machine.recipe("a", app: "app\n"))
            let bogus = directory.appending(path: "not-a-directory")
            try write("x", to: "not-a-directory", in: directory)
            try machine.layers.register(ImageStore(root: bogus))
            // A file is no store: it counts as gone, like a removed system.
            let (counts, dropped) = try machine.layers.imagesUsingLayers()
            #expect(dropped.map(\.path) == [bogus.path])
            #expect(counts[image.layers[0]] == 1 && counts[image.layers[1]] == 1)
            #expect(machine.layers.registeredStores().count == 2, "counting alone drops nothing")
        }
    }

    @Test func diskUsageCountsEachFileOnce() async throws {
        try await withTemporaryDirectory { directory in
            try write(String(repeating: "x", count: 1000), to: "one/file", in: directory)
            try FileManager.default.createDirectory(at: directory.appending(path: "two"), withIntermediateDirectories: true)
            #expect(link(directory.appending(path: "one/file").path, directory.appending(path: "two/same").path) == 0)
            #expect(link(directory.appending(path: "one/file").path, directory.appending(path: "one/again").path) == 0)
            try write(String(repeating: "y", count: 10), to: "two/own", in: directory)
            let one = try DiskUsage.of(directory.appending(path: "one"))
            #expect(one.bytes == 1000)
            #expect(one.exclusiveBytes == 0, "two/same still links it")
            var both = one
            try both.add(directory.appending(path: "two"))
            #expect(both.bytes == 1010)
            #expect(both.exclusiveBytes == 1010)
        }
    }
}
