import PyreAPI
import PyreCore
import PyreImages

extension ImageGCReport {
    /// The control API's answer (and `pyre image gc`'s, without an agent) for a collection.
    public init(_ result: ImageCollector.Result, keptDeployments: Int, inUse: Set<ImageDigest>) {
        self.init(keptDeployments: keptDeployments, inUse: inUse.map(\.rawValue).sorted(),
                  removedImages: result.removedImages.map(\.rawValue), imageBytesFreed: result.imageBytesFreed,
                  removedLayers: result.removedLayers.map { Layer(key: $0.key.rawValue, description: $0.description, bytes: $0.bytes) },
                  layerBytesFreed: result.layerBytesFreed, droppedStores: result.droppedStores,
                  keptImages: result.keptImages, keptLayers: result.keptLayers)
    }
}
