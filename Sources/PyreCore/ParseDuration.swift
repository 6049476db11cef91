/// Parses durations written the way people write them in `pyre.yml` and on the command line:
/// one or more `NUMBER UNIT` parts with units `ms`, `s`, `m`, `h` or `d`, such as `500ms`, `2s`,
/// `10m`, `24h`, `1h30m`, `1.5s` or `30d`. Returns nil for anything else, including negative values
/// and numbers without a unit.
public func parseDuration(_ text: String) -> Duration? {
    var rest = Substring(text)
    guard !rest.isEmpty else { return nil }
    var totalNanoseconds: Int64 = 0
    while !rest.isEmpty {
        guard let part = takeDurationPart(from: &rest) else { return nil }
        let (sum, overflow) = totalNanoseconds.addingReportingOverflow(part)
        guard !overflow else { return nil }
        totalNanoseconds = sum
    }
    return .nanoseconds(totalNanoseconds)
}

private let nanosecondsPerUnit: [(unit: String, nanoseconds: Int64)] = [
    // "ms" before "m", so that "500ms" is not read as 500 minutes followed by garbage.
    ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
]

/// Removes one `NUMBER UNIT` part from the front of `rest` and returns its length in nanoseconds.
private func takeDurationPart(from rest: inout Substring) -> Int64? {
    let whole = rest.prefix { $0.isASCII && $0.isNumber }
    rest = rest.dropFirst(whole.count)
    var fraction = Substring()
    if rest.first == "." {
        rest = rest.dropFirst()
        fraction = rest.prefix { $0.isASCII && $0.isNumber }
        guard !fraction.isEmpty else { return nil }
        rest = rest.dropFirst(fraction.count)
    }
    guard !whole.isEmpty || !fraction.isEmpty,
          let (unit, perUnit) = nanosecondsPerUnit.first(where: { rest.hasPrefix($0.unit) })
    else { return nil }
    rest = rest.dropFirst(unit.count)

    guard let wholeValue = Int64(whole.isEmpty ? "0" : whole) else { return nil }
    let (wholeNanoseconds, overflow) = wholeValue.multipliedReportingOverflow(by: perUnit)
    guard !overflow else { return nil }
    // Fractions below a nanosecond do not matter; a Double is exact enough for the rest.
    let fractionValue = Double("0." + fraction) ?? 0
    let (total, overflowed) = wholeNanoseconds.addingReportingOverflow(Int64((fractionValue * Double(perUnit)).rounded()))
    return overflowed ? nil : total
}
