import PyreCore

/// Progress of `ImageBaker.bake`; steps count from 1.
public enum BakeProgress: Sendable {
    case started(image: String, step: Int, of: Int, command: String)
    case output(image: String, line: String)
    case finished(image: String, step: Int, seconds: Double)
    /// An image with the same digest already exists; nothing was run.
    case cached(image: String, digest: ImageDigest)
    /// A whole-server image's layer (its base, user, context) is being made.
    case layerStarted(image: String, layer: String)
    /// A whole-server image's layer is there: made in `seconds`, or found in the cache.
    case layerDone(image: String, layer: String, seconds: Double, bytes: Int64, cached: Bool)
}
