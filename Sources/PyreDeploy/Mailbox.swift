import Synchronization

/// Many producers post, one consumer takes everything posted so far in one go: a deploy's I/O
/// tasks report here, and the reconciler handles their results in batches (one journal write
/// for many servers).
final class Mailbox<Element: Sendable>: Sendable {
    private struct Box {
        var items: [Element] = []
        var waiter: CheckedContinuation<[Element], Never>?
    }

    private let box = Mutex(Box())

    func post(_ element: Element) {
        let resumed: (CheckedContinuation<[Element], Never>, [Element])? = box.withLock { box in
            box.items.append(element)
            guard let waiter = box.waiter else { return nil }
            box.waiter = nil
            defer { box.items = [] }
            return (waiter, box.items)
        }
        if let (waiter, items) = resumed { waiter.resume(returning: items) }
    }

    /// Everything posted since the last call; waits for at least one element.
    func takeAll() async -> [Element] {
        await withCheckedContinuation { continuation in
            let ready: [Element]? = box.withLock { box in
                guard !box.items.isEmpty else {
                    box.waiter = continuation
                    return nil
                }
                defer { box.items = [] }
                return box.items
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
