import Foundation
@testable import PyreImages
import PyreCore
import PyreTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `pyre image export --oci`: layouts that skopeo and umoci read, whose root is the image's,
/// the same bytes every time, and that `base: { oci: }` takes back.
@Suite(.enabled(if: getuid() == 0, "baking a whole-server image and unpacking with owners need root"),
       .enabled(if: TinyRootfs.isAvailable, "needs busybox-static"),
       .enabled(if: toolExists("/usr/bin/skopeo") && toolExists("/usr/bin/umoci"), "needs skopeo and umoci"))
struct OCIExportTests {
    @Test func skopeoReadsTheLayoutAndUmociUnpacksTheImagesRoot() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try WholeServerFixture(directory)
            let image = try await fixture.baker.bake(fixture.recipe())
            let layout = directory.appending(path: "layout")
            let result = try OCIExport(image: image).write(to: layout)

            let inspected = try JSONSerialization.jsonObject(with: Data(try run(["skopeo", "inspect", "oci:\(layout.path)"]).utf8))
            let info = try #require(inspected as? [String: Any])
            #expect(info["Digest"] as? String == result.manifest.rawValue)
            #expect(info["Architecture"] as? String == OCIExport.architecture)
            #expect(info["Os"] as? String == "linux")
            #expect(info["Layers"] as? [String] == [result.layer.rawValue])
            let env = try #require(info["Env"] as? [String])
            #expect(env == ["GREETING=hello world", "PATH=\(OCIExport.defaultPath)"])
            #expect((info["Labels"] as? [String: String])?[OCIExport.rootLabel] == image.contentDigest.rawValue)

            let configText = try run(["skopeo", "inspect", "--config", "oci:\(layout.path):latest"])
            let config = try #require(try JSONSerialization.jsonObject(with: Data(configText.utf8)) as? [String: Any])
            let execution = try #require(config["config"] as? [String: Any])
            #expect(execution["Cmd"] as? [String] == ["httpd", "-f", "-p", "8080"])
            #expect(execution["WorkingDir"] as? String == "/srv/app")
            #expect(execution["User"] as? String == "app")
            #expect((config["rootfs"] as? [String: Any])?["diff_ids"] as? [String] == [result.layer.rawValue])

            let bundle = directory.appending(path: "bundle")
            try run(["umoci", "unpack", "--image", "\(layout.path):latest", bundle.path])
            let unpacked = try RootListing(of: bundle.appending(path: "rootfs"))
            let original = try RootListing(of: image.root)
            #expect(unpacked.differences(from: original) == [], "umoci's rootfs is the image's root")
            #expect(unpacked.digest == image.contentDigest)
            // What the fixture put in the base to test the tar: a hard link stays one.
            let rootfs = bundle.appending(path: "rootfs")
            #expect(inode(of: rootfs.appending(path: "bin/busybox")) == inode(of: rootfs.appending(path: "usr/bin/busybox-again")))
            #expect(FileManager.default.fileExists(atPath: rootfs.appending(path: WholeServerFixture.longPath).path))
            // umoci's runtime config follows the image config.
            let runtime = try #require(try JSONSerialization.jsonObject(
                with: Data(contentsOf: bundle.appending(path: "config.json"))) as? [String: Any])
            let process = try #require(runtime["process"] as? [String: Any])
            #expect(process["args"] as? [String] == ["httpd", "-f", "-p", "8080"])
            #expect(process["cwd"] as? String == "/srv/app")
            #expect((process["user"] as? [String: Any])?["uid"] as? Int == 1000, "umoci resolves `app` in the image's /etc/passwd")
        }
    }

    @Test func anExportIsTheSameBytesEveryTimeAndGNUTarReadsIt() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try WholeServerFixture(directory)
            let image = try await fixture.baker.bake(fixture.recipe())
            let one = try OCIExport(image: image).write(to: directory.appending(path: "one"))
            // The same recipe baked elsewhere: another store, another cache, other inodes.
            let elsewhere = ImageBaker(store: ImageStore(root: directory.appending(path: "other/images")),
                                       layers: LayerStore(root: directory.appending(path: "other/layers")))
            let again = try await elsewhere.bake(fixture.recipe())
            let two = try OCIExport(image: again).write(to: directory.appending(path: "two"))
            #expect(one.manifest == two.manifest)
            #expect(one.layer == two.layer)
            #expect(one.config == two.config)

            // GNU tar lists what the root holds, with numeric owners and the fixed time.
            let blob = directory.appending(path: "one/blobs/sha256/\(one.layer.hex!)")
            let listing = try run(["tar", "--list", "--verbose", "--numeric-owner", "--full-time", "--file", blob.path])
            #expect(listing.contains("1234/5678"), "an owner without a name stays a number")
            #expect(listing.contains("-rwsr-xr-x"), "setuid bits are kept")
            #expect(listing.contains("2023-11-14 22:13:20"))
            #expect(listing.contains(WholeServerFixture.longPath), "a long path goes through a pax header")
            #expect(listing.contains("usr/bin/busybox-again link to bin/busybox"))
            #expect(listing.contains("caf\u{e9}.txt") || listing.contains("caf\\303\\251.txt"))
            let extracted = directory.appending(path: "extracted")
            try FileManager.default.createDirectory(at: extracted, withIntermediateDirectories: true)
            try run(["tar", "--extract", "--file", blob.path, "--directory", extracted.path, "--numeric-owner", "--same-owner",
                     "--same-permissions"])
            #expect(try RootListing(of: extracted).differences(from: RootListing(of: image.root)) == [])
        }
    }

    @Test func anExportedLayoutImportsBackIntoTheSameRoot() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = try WholeServerFixture(directory)
            let image = try await fixture.baker.bake(fixture.recipe())
            let layout = directory.appending(path: "layout")
            try OCIExport(image: image).write(to: layout)

            // Unpacked as a bake unpacks a base, then normalised as every base is.
            let tree = directory.appending(path: "imported/tree")
            try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
            try await importer().unpack(layout, into: tree)
            try RootNormalisation.apply(to: tree)
            #expect(try RootListing(of: tree).differences(from: RootListing(of: image.root)) == [])
            #expect(try rootDigest(of: tree) == image.contentDigest)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.appending(path: "imported").path) == ["tree"],
                    "the unpacked layer is gone")

            // As a base: its layer holds the exported root; an image on it adds its context.
            try write("v2\n", to: "app/index.html", in: directory)
            let onTop = try await fixture.baker.bake(fixture.recipe(name: "again", base: .oci(layout)))
            let base = try #require(fixture.layers.layer(for: onTop.layers[0]))
            #expect(try RootListing(of: base.tree).digest == image.contentDigest)
            #expect(try String(contentsOf: onTop.root.appending(path: "srv/app/index.html"), encoding: .utf8) == "v2\n")
            #expect(try ImageAccounts(root: onTop.root).identity(of: "app") == .init(uid: 1000, gid: 1000),
                    "the user the exported image made is there, not made again")
        }
    }

    @Test func hostOSImagesAndUsedDirectoriesAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            let store = ImageStore(root: directory.appending(path: "images"))
            let hostOS = try await ImageBaker(store: store, layers: LayerStore(root: directory.appending(path: "layers")))
                .bake(recipe(context: try makeContext(in: directory.appending(path: "context"))))
            #expect { try OCIExport(image: hostOS) } throws: { error in
                ((error as? PyreError)?.message ?? "").contains("is a host-OS image")
            }

            let fixture = try WholeServerFixture(directory.appending(path: "system"))
            let image = try await fixture.baker.bake(fixture.recipe())
            let used = directory.appending(path: "used")
            try write("x", to: "something", in: used)
            #expect { try OCIExport(image: image).write(to: used) } throws: { error in
                ((error as? PyreError)?.message ?? "").contains("is not an empty directory")
            }
            let empty = directory.appending(path: "empty")
            try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
            try OCIExport(image: image).write(to: empty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: empty.path).sorted() == ["blobs", "index.json", "oci-layout"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).allSatisfy { !$0.contains("pyre-export") })

            // An image that records no runtime (baked before Pyre recorded it) needs one given.
            var old = image
            old.runtime = nil
            #expect(throws: PyreError.self) { try OCIExport(image: old) }
            #expect(try OCIExport(image: old, runtime: ImageRuntime(fixture.recipe())).runtime.user == "app")
        }
    }
}
