import PyreCore

/// Publishes to several identity layers (the agent's own DNS and entry points, and Route
/// 53), each with its one change, and drains through the first.
struct PublisherChain: ServerPublisher {
    let publishers: [any ServerPublisher]

    func update(publishing servers: [ServerInfo], unpublishing leaving: [ServerID]) async {
        await withTaskGroup(of: Void.self) { group in
            for publisher in publishers {
                group.addTask { await publisher.update(publishing: servers, unpublishing: leaving) }
            }
        }
    }

    func drain(_ ids: [ServerID], within period: Duration) async {
        await publishers.first?.drain(ids, within: period)
    }
}
