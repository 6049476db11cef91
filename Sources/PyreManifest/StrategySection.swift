import PyreCore

/// `strategy:` — how many servers a rollout may add and take away at a time, and how a new
/// release is judged before and after it takes over.
enum StrategySection {
    static let keys = ["max_surge", "max_unavailable", "canary", "watch", "auto_rollback", "max_error_logs"]

    static func read(_ value: ManifestValue) throws -> RolloutStrategy {
        let strategy = try value.mapping(expecting: "a strategy such as { max_surge: 1, max_unavailable: 0 }",
                                         allowedKeys: keys)
        var spec = RolloutStrategy()
        let surge = strategy.optional("max_surge")
        if let surge { spec.maxSurge = try readQuantity(surge, name: "max_surge") }
        if let unavailable = strategy.optional("max_unavailable") {
            spec.maxUnavailable = try readQuantity(unavailable, name: "max_unavailable")
        }
        if let canary = strategy.optional("canary") { spec.canary = try readQuantity(canary, name: "canary") }
        if let watch = strategy.optional("watch") { spec.watch = try watch.duration(name: "watch", allowZero: true) }
        if let rollback = strategy.optional("auto_rollback") { spec.autoRollback = try rollback.bool() }
        if let errors = strategy.optional("max_error_logs") { spec.maxErrorLogs = try readShare(errors) }
        if isZero(spec.maxSurge), isZero(spec.maxUnavailable) {
            throw (surge ?? strategy.value).error("max_surge and max_unavailable are both 0, so a rollout could never "
                                                  + "make progress; set max_surge to 1 or more")
        }
        return spec
    }

    private static func isZero(_ quantity: RolloutQuantity) -> Bool {
        switch quantity {
        case .absolute(let n), .percent(let n): n == 0
        }
    }

    /// A percentage such as `0.5%`, as a fraction of 1.
    private static func readShare(_ value: ManifestValue) throws -> Double {
        let text = try value.string(expecting: "a percentage such as 0.5%")
        guard text.hasSuffix("%"), let percent = Double(text.dropLast()), percent.isFinite, (0...100).contains(percent) else {
            throw value.error("max_error_logs must be a percentage between 0% and 100% such as 0.5%, got \"\(text)\"")
        }
        return percent / 100
    }

    /// A non-negative integer or a percentage `N%` of the service's count.
    private static func readQuantity(_ value: ManifestValue, name: String) throws -> RolloutQuantity {
        let usage = "use a number of servers such as 1, or a percentage of count such as 25%"
        let text = try value.string(expecting: "a number or a percentage")
        if text.hasSuffix("%") {
            guard let percent = Int(text.dropLast()), (0...100).contains(percent) else {
                throw value.error("\(name) percentage must be between 0% and 100%, got \"\(text)\"")
            }
            return .percent(percent)
        }
        guard let count = value.node.int else {
            throw value.error("invalid \(name) \"\(text)\"; \(usage)")
        }
        guard count >= 0 else { throw value.error("\(name) must be 0 or more, got \(count)") }
        return .absolute(count)
    }
}
