/// Where an append to the event store put its events: the first and last stream version and
/// global position. The events API answers an append with it as it is (camelCase keys).
public struct AppendResult: Codable, Sendable, Equatable {
    public var firstVersion: Int64
    public var lastVersion: Int64
    public var firstPosition: Int64
    public var lastPosition: Int64

    public init(firstVersion: Int64, lastVersion: Int64, firstPosition: Int64, lastPosition: Int64) {
        self.firstVersion = firstVersion
        self.lastVersion = lastVersion
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
    }
}

