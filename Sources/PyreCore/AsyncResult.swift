extension Result where Failure == any Error {
    /// The outcome of an async throwing call, for task-group children that report
    /// `(key, Result)` pairs.
    ///
    /// Build such a pair from this, in a statement of its own, never as `(key, .success(try await f()))`: Swift 6.3.1 at
    /// `-O` loses a tuple element evaluated before a `try await` in the same tuple expression,
    /// inside a task-group child of a generic function (the key reads back as 0). Reduced case,
    /// which prints `[0, 0, 0]` in release and `[0, 1, 2]` in debug:
    ///
    ///     struct Info: Sendable { var id: String }
    ///     protocol Provider: Sendable { func create(_ id: String) async throws -> Info }
    ///     final class Local: Provider { func create(_ id: String) async throws -> Info { Info(id: id) } }
    ///     extension Provider {
    ///         func indexes(_ ids: [String]) async -> [Int] {
    ///             await withTaskGroup(of: (Int, Result<Info, any Error>).self) { group in
    ///                 for (index, id) in ids.enumerated() {
    ///                     group.addTask {
    ///                         do { return (index, .success(try await create(id))) } catch { return (index, .failure(error)) }
    ///                     }
    ///                 }
    ///                 var seen: [Int] = []
    ///                 for await (index, _) in group { seen.append(index) }
    ///                 return seen.sorted()
    ///             }
    ///         }
    ///     }
    ///     let provider: any Provider = Local()
    ///     print(await provider.indexes(["a", "b", "c"]))
    ///
    /// `ServerProvider.create(batch:)` then indexed its results with garbage and trapped
    /// (SIGILL) on the first deploy of every release build.
    public init(awaiting body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
