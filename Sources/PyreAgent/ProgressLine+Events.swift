import Foundation
import PyreImages

extension ProgressLine {
    /// A line for a bake event; nil for events people need not see.
    public init?(_ event: BakeProgress) {
        switch event {
        case let .started(image, step, total, command):
            self.init(.bake, "bake \(image): step \(step)/\(total): \(command)")
        case let .output(_, line):
            self.init(.output, line)
        case let .finished(image, step, seconds):
            self.init(.bake, String(format: "bake \(image): step \(step) done in %.1fs", seconds))
        case let .cached(image, digest):
            self.init(.bake, "bake \(image): cached \(digest.short)")
        }
    }
}
