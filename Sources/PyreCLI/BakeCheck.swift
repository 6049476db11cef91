import Foundation
import PyreAPI
import PyreCore
import PyreImages
import PyreProgress

/// `pyre bake --check`: bakes an image again in empty stores (no cached layer, no cached
/// image; the same pyre.lock) and compares the two trees, naming the first paths that differ.
struct BakeCheck {
    let state: StateDirectory

    func run(_ recipe: ImageRecipe, against image: BakedImage) async throws {
        let scratch = state.root.appending(path: "volatile/bake-check-\(UUID().uuidString)")
        defer { try? FileTree.remove(scratch.path) }
        let baker = ImageBaker(store: ImageStore(root: scratch.appending(path: "images")),
                               layers: LayerStore(root: scratch.appending(path: "layers")))
        let start = ContinuousClock.now
        let again = try await baker.bake(recipe) { event in Terminal.progress(ProgressEvent(event)) }
        let seconds = (ContinuousClock.now - start).timeInterval
        guard again.contentDigest != image.contentDigest else {
            print(String(format: "\(recipe.name)  reproducible: baked again from scratch in %.1fs, same digest \(image.contentDigest)", seconds))
            return
        }
        var message = "image '\(recipe.name)' is not reproducible: baked again from scratch it hashes to \(again.contentDigest), "
            + "not \(image.contentDigest)"
        if image.isWholeServer {
            let paths = try RootListing(of: again.root).differences(from: RootListing(of: image.root))
            message += "; first differing paths: " + paths.joined(separator: ", ")
        }
        throw PyreError(.bake, message + ". Make the build steps that write them deterministic (no times, no random names)")
    }
}
