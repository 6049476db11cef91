import Foundation

/// Any JSON document: an event's `data` and `metadata`, which are the client's own. Numbers
/// keep their kind (whole numbers stay exact), so a document read and written again says
/// the same thing.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    /// A whole number above `Int64.max`.
    case unsigned(UInt64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The document in `data`, or `.null` when it is not JSON.
    public init(parsing data: Data) {
        self = (try? JSONDecoder().decode(JSONValue.self, from: data)) ?? .null
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .unsigned(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .unsigned(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// The events API's JSON as it has always been written: keys sorted as JSONSerialization
/// sorts them (not as JSONEncoder does), slashes escaped unless `escapingSlashes` is false.
/// The API's types are Codable; this keeps their bytes what clients already read.
public enum EventsJSONEncoding {
    public static func encode(_ value: some Encodable, escapingSlashes: Bool = true) throws -> Data {
        let encoded = try JSONEncoder.pyre.encode(value)
        let object = try JSONSerialization.jsonObject(with: encoded, options: .fragmentsAllowed)
        var options: JSONSerialization.WritingOptions = [.sortedKeys, .fragmentsAllowed]
        if !escapingSlashes { options.insert(.withoutEscapingSlashes) }
        return try JSONSerialization.data(withJSONObject: object, options: options)
    }
}
