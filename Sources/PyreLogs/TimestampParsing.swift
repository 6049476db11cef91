/// What a timestamp reader found: nothing shaped like its format (the scanner did not move),
/// the right shape with impossible values (month 13, hour 25), or a time.
enum TimestampMatch {
    case noMatch
    case invalid
    /// `offsetSeconds` is nil when the text carries no zone (BSD timestamps).
    case time(CivilTime, offsetSeconds: Int?)
}

extension ByteScanner {
    /// RFC 3339 as RFC 5424 restricts it: `YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)`, upper-case
    /// `T` and `Z`, at most `maxFractionDigits` digits after the point.
    mutating func rfc3339Timestamp(maxFractionDigits: Int) -> TimestampMatch {
        let start = index
        guard let match = readRFC3339(maxFractionDigits: maxFractionDigits) else {
            index = start
            return .noMatch
        }
        return match
    }

    private mutating func readRFC3339(maxFractionDigits: Int) -> TimestampMatch? {
        guard let year = digits(4), skip(UInt8(ascii: "-")), let month = digits(2), skip(UInt8(ascii: "-")),
              let day = digits(2), skip(UInt8(ascii: "T")),
              let hour = digits(2), skip(UInt8(ascii: ":")), let minute = digits(2), skip(UInt8(ascii: ":")),
              let second = digits(2)
        else { return nil }
        var time = CivilTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let fraction = secondFraction(maxDigits: maxFractionDigits) else { return nil }
        time.fraction = fraction
        let offset: Int
        if skip(UInt8(ascii: "Z")) {
            offset = 0
        } else {
            guard let sign = current, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
            index += 1
            guard let hours = digits(2), skip(UInt8(ascii: ":")), let minutes = digits(2) else { return nil }
            guard hours <= 23, minutes <= 59 else { return .invalid }
            offset = (sign == UInt8(ascii: "+") ? 1 : -1) * (hours * 3_600 + minutes * 60)
        }
        guard isAtEnd || current == .space else { return nil }
        return time.isValid ? .time(time, offsetSeconds: offset) : .invalid
    }

    /// The BSD timestamp `Mmm dd hh:mm:ss`, its day padded with a space or not, optionally
    /// with a year before the time (`Mmm dd yyyy hh:mm:ss`) and a fraction after it.
    mutating func bsdTimestamp() -> (match: TimestampMatch, hasYear: Bool) {
        let start = index
        guard let (time, hasYear) = readBSD() else {
            index = start
            return (.noMatch, false)
        }
        // The year is checked later, once inferred; any leap year lets Feb 29 through here.
        var probe = time
        if !hasYear { probe.year = 2000 }
        return (probe.isValid ? .time(time, offsetSeconds: nil) : .invalid, hasYear)
    }

    private mutating func readBSD() -> (CivilTime, hasYear: Bool)? {
        guard let month = monthName(), skip(.space) else { return nil }
        _ = skip(.space)
        guard let first = current, first.isDigit else { return nil }
        let day: Int
        if let next = peek(1), next.isDigit, let twoDigits = digits(2) { day = twoDigits } else {
            guard let oneDigit = digits(1) else { return nil }
            day = oneDigit
        }
        guard skip(.space) else { return nil }
        var year = 0
        var hasYear = false
        if peek(4) == .space, let fourDigits = digits(4) {
            year = fourDigits
            hasYear = true
            index += 1
        }
        guard let hour = digits(2), skip(UInt8(ascii: ":")), let minute = digits(2), skip(UInt8(ascii: ":")),
              let second = digits(2), let fraction = secondFraction(maxDigits: 9),
              isAtEnd || current == .space
        else { return nil }
        var time = CivilTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        time.fraction = fraction
        return (time, hasYear)
    }

    /// `.` and 1 to `maxDigits` digits, or nothing (0).
    private mutating func secondFraction(maxDigits: Int) -> Double? {
        guard skip(UInt8(ascii: ".")) else { return 0 }
        var value = 0
        var scale = 1
        var count = 0
        while let byte = current, byte.isDigit {
            count += 1
            guard count <= maxDigits else { return nil }
            value = value * 10 + Int(byte &- UInt8(ascii: "0"))
            scale *= 10
            index += 1
        }
        return count == 0 ? nil : Double(value) / Double(scale)
    }

    /// `Jan` … `Dec` as 1…12; English, case as written by syslog(3).
    private mutating func monthName() -> Int? {
        guard let a = peek(0), let b = peek(1), let c = peek(2) else { return nil }
        let key = UInt32(a) << 16 | UInt32(b) << 8 | UInt32(c)
        guard let month = Self.monthKeys.firstIndex(of: key) else { return nil }
        index += 3
        return month + 1
    }

    private static let monthKeys: [UInt32] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                              "Nov", "Dec"].map { name in
        name.utf8.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
}
