import Foundation

/// An input that broke a check: the problem and the input, in hex, to replay it.
public struct FuzzFailure: Error, CustomStringConvertible {
    public var input: [UInt8]
    public var problem: String

    public init(input: [UInt8], problem: String) {
        self.input = input
        self.problem = problem
    }

    public var description: String {
        "\(problem); input: " + input.map { String($0, radix: 16) }.joined(separator: " ")
    }
}

/// What a fuzz executable is asked for: `--count N` inputs from `--seed S` (the time when
/// not given, printed so a failure can be replayed).
public struct FuzzOptions: Sendable {
    public var count: Int
    public var seed: UInt64

    public init(arguments: [String] = CommandLine.arguments) {
        func option(_ name: String) -> UInt64? {
            guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
            return UInt64(arguments[index + 1])
        }
        count = Int(option("--count") ?? 1_000_000)
        seed = option("--seed") ?? UInt64(Date().timeIntervalSince1970)
    }
}
