/// A date and time of day as written in a message, checked and turned into seconds since 1970
/// without Foundation's Calendar, which is far too slow per message.
struct CivilTime {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
    /// Fraction of a second, from the digits after the point.
    var fraction: Double = 0

    /// Month 1–12, the day within the month (leap years included), hour 0–23, minute and second 0–59.
    var isValid: Bool {
        (1...12).contains(month) && day >= 1 && day <= Self.daysIn(month: month, year: year)
            && (0...23).contains(hour) && (0...59).contains(minute) && (0...59).contains(second)
    }

    /// Seconds since 1970-01-01T00:00:00 reading this time as UTC.
    var secondsSinceEpoch: Double {
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3_600 + minute * 60 + second) + fraction
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// Days from 1970-01-01 to the given date in the proleptic Gregorian calendar. Counting
    /// years from March puts the leap day last, so the day of the year needs no leap test.
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let marchYear = month <= 2 ? year - 1 : year
        let era = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
        let yearOfEra = marchYear - era * 400
        let monthFromMarch = (month + 9) % 12
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The Gregorian year containing a moment given in seconds since 1970 (UTC).
    static func year(containing seconds: Double) -> Int {
        let days = Int((seconds / 86_400).rounded(.down))
        var year = 1970 + Int((Double(days) / 365.2425).rounded(.down))
        while daysSinceEpoch(year: year, month: 1, day: 1) > days { year -= 1 }
        while daysSinceEpoch(year: year + 1, month: 1, day: 1) <= days { year += 1 }
        return year
    }
}
