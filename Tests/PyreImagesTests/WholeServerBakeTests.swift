import Foundation
@testable import PyreImages
import PyreCore
import PyreTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Whole-server images baked from a tiny busybox rootfs: layers, caching, build steps in
/// the image's own root, reproducibility and what a root may hold.
@Suite(.enabled(if: getuid() == 0, "baking a whole-server image needs root"),
       .enabled(if: TinyRootfs.isAvailable, "needs busybox-static"))
struct WholeServerBakeTests {
    /// A system directory with a tiny base tar and an app, and stores of its own.
    struct Fixture {
        let directory: URL
        var app: URL { directory.appending(path: "app") }
        var images: ImageStore { ImageStore(root: directory.appending(path: "state/images")) }
        var layers: LayerStore { LayerStore(root: directory.appending(path: "layers")) }
        var baker: ImageBaker { ImageBaker(store: images, layers: layers) }

        init(_ directory: URL) throws {
            self.directory = directory
            try TinyRootfs.make(at: directory.appending(path: "base.tar"))
            try write("hello\n", to: "app/index.html", in: directory)
        }

        func recipe(build: [String] = [], user: String? = nil) -> ImageRecipe {
            ImageRecipe(name: "web", context: app, build: build, run: ["httpd", "-f"], user: user,
                        base: .rootfs(directory.appending(path: "base.tar")))
        }
    }

    @Test func layersAreMadeOnceAndAnAppEditRebuildsOnlyWhatIsAboveIt() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try Fixture(directory)
            let recipe = fixture.recipe(build: ["echo built > /app/built.txt"])
            let first = ProgressLog()
            let image = try await fixture.baker.bake(recipe, progress: first.record)
            #expect(image.isWholeServer)
            #expect(try String(contentsOf: image.root.appending(path: "app/built.txt"), encoding: .utf8) == "built\n")
            #expect(try String(contentsOf: image.root.appending(path: "etc/os-release"), encoding: .utf8).contains(TinyRootfs.osName))
            #expect(image.layers.count == 3, "base, context, one step")
            #expect(try rootDigest(of: image.root) == image.contentDigest)

            let again = ProgressLog()
            #expect(try await fixture.baker.bake(recipe, progress: again.record).digest == image.digest)
            #expect(again.all.contains { if case .cached = $0 { true } else { false } })

            try write("changed\n", to: "app/index.html", in: directory)
            let edited = ProgressLog()
            let changed = try await fixture.baker.bake(recipe, progress: edited.record)
            #expect(changed.digest != image.digest)
            #expect(changed.layers[0] == image.layers[0], "the base is the same layer")
            #expect(changed.layers[1] != image.layers[1] && changed.layers[2] != image.layers[2])
            let cachedLayers = edited.all.compactMap { if case let .layerDone(_, layer, _, _, true) = $0 { layer } else { nil } }
            #expect(cachedLayers == ["base rootfs base.tar"], "\(edited.all)")
            // The base's files are linked, not copied: one inode for both images.
            #expect(inode(image.root.appending(path: "bin/busybox")) == inode(changed.root.appending(path: "bin/busybox")))
        }
    }

    @Test func twoBakesInEmptyStoresGiveTheSameDigests() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try Fixture(directory)
            let recipe = fixture.recipe(build: ["mkdir -p /srv/data && echo x > /srv/data/x"], user: "app")
            let one = try await fixture.baker.bake(recipe)
            let elsewhere = ImageBaker(store: ImageStore(root: directory.appending(path: "other/images")),
                                       layers: LayerStore(root: directory.appending(path: "other/layers")))
            let two = try await elsewhere.bake(recipe)
            #expect(one.digest == two.digest)
            #expect(one.contentDigest == two.contentDigest)
            #expect(try RootListing(of: one.root).differences(from: RootListing(of: two.root)).isEmpty)
        }
    }

    @Test func buildStepsRunInTheImagesRootWithoutNetwork() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try Fixture(directory)
            let marker = directory.appending(path: "host-marker")
            try "on the host".write(to: marker, atomically: true, encoding: .utf8)
            let recipe = fixture.recipe(build: [
                "ls / > /app/root.txt; ls /sys/class/net > /app/net.txt; id -u > /app/uid.txt",
                "if [ -e \(marker.path) ]; then echo visible; else echo hidden; fi > /app/marker.txt",
                "echo scratch > /tmp/scratch; rm /etc/os-release",
            ])
            let image = try await fixture.baker.bake(recipe)
            func read(_ path: String) throws -> String { try String(contentsOf: image.root.appending(path: path), encoding: .utf8) }
            #expect(try read("app/marker.txt") == "hidden\n", "the host's files are out of reach")
            #expect(try read("app/net.txt") == "lo\n", "no network but loopback")
            #expect(try read("app/uid.txt") == "0\n")
            let root = try read("app/root.txt")
            #expect(!root.contains("usr"), "the image's root, not the host's: \(root)")
            #expect(!FileManager.default.fileExists(atPath: image.root.appending(path: "etc/os-release").path), "a whiteout removes a file")
            let base = try #require(fixture.layers.layer(for: image.layers[0]))
            #expect(FileManager.default.fileExists(atPath: base.tree.appending(path: "etc/os-release").path), "the base layer keeps it")
            #expect(try FileManager.default.contentsOfDirectory(atPath: image.root.appending(path: "tmp").path).isEmpty,
                    "/tmp of a step stays out of the image")
        }
    }

    @Test func theImagesUserIsCreatedInTheImage() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try Fixture(directory)
            let image = try await fixture.baker.bake(fixture.recipe(user: "app"))
            let accounts = ImageAccounts(root: image.root)
            #expect(try accounts.identity(of: "app") == .init(uid: 1000, gid: 1000))
            #expect(try accounts.identity(of: "app:nogroup") == .init(uid: 1000, gid: 65534))
            #expect(try accounts.identity(of: nil) == .init(uid: 65534, gid: 65534))
            #expect(throws: PyreError.self) { try accounts.identity(of: "ghost") }
            #expect(try String(contentsOf: image.root.appending(path: "etc/passwd"), encoding: .utf8).contains("app:x:1000:1000:"))
        }
    }

    @Test func aStepThatFailsNamesItselfAndLeavesNoLayer() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try Fixture(directory)
            await #expect {
                try await fixture.baker.bake(fixture.recipe(build: ["echo about to fail; exit 3"]))
            } throws: { error in
                let message = (error as? PyreError)?.message ?? ""
                return message.contains("build step 1 of 1") && message.contains("exit code 3") && message.contains("about to fail")
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: fixture.layers.root.path)
            #expect(!names.contains { $0.hasPrefix(".scratch") }, "\(names)")
        }
    }

    @Test func deviceNodesInABaseAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            let tree = directory.appending(path: "tree")
            try FileManager.default.createDirectory(at: tree.appending(path: "etc"), withIntermediateDirectories: true)
            #expect(mknod(tree.appending(path: "etc/console").path, S_IFCHR | 0o600, makedev(5, 1)) == 0)
            let archive = directory.appending(path: "devices.tar")
            let tar = try Process.run(URL(fileURLWithPath: "/usr/bin/tar"), arguments: ["-cf", archive.path, "-C", tree.path, "."])
            tar.waitUntilExit()
            try write("x", to: "app/x", in: directory)
            let recipe = ImageRecipe(name: "web", context: directory.appending(path: "app"), run: ["true"], base: .rootfs(archive))
            let baker = ImageBaker(store: ImageStore(root: directory.appending(path: "images")),
                                   layers: LayerStore(root: directory.appending(path: "layers")))
            await #expect {
                try await baker.bake(recipe)
            } throws: { error in
                ((error as? PyreError)?.message ?? "").contains("/etc/console in the image is a device node")
            }
        }
    }

    private func inode(_ url: URL) -> ino_t {
        var info = stat()
        return lstat(url.path, &info) == 0 ? info.st_ino : 0
    }
}

private func makedev(_ major: UInt32, _ minor: UInt32) -> dev_t {
    dev_t((major << 8) | minor)
}
