import PyreAPI
import PyreCore
import PyreImages

extension ImageGCReport {
    /// The control API's answer (and `pyre image gc`'s, without an agent) for a collection.
    public init(_ result: ImageCollector.Result, keptDeployments: Int) {
        self.init(keptDeployments: keptDeployments, inUse: result.keptImages.map(\.rawValue),
                  removedImages: result.removedImages.map(\.rawValue), imageBytesFreed: result.imageBytesFreed,
                  removedLayers: result.removedLayers.map { Layer(key: $0.key.rawValue, description: $0.description, bytes: $0.bytes) },
                  layerBytesFreed: result.layerBytesFreed, droppedStores: result.droppedStores, keptLayers: result.keptLayers)
    }
}
