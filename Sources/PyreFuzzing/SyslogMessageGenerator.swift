import Foundation
import PyreCore
import PyreLogs

/// Seeded random syslog messages for the fuzzer: RFC 5424 messages built from random fields
/// (with the record they must parse to), BSD forms, and mutations of either.
struct SyslogMessageGenerator {
    var random: SplitMix64

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    mutating func randomByte() -> UInt8 { UInt8(truncatingIfNeeded: random.next()) }

    mutating func below(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }

    mutating func chance(_ oneIn: Int) -> Bool { below(oneIn) == 0 }

    /// An RFC 5424 message and the record it must parse to. The expected timestamp comes from
    /// Foundation's Calendar, independently of the parser's own date arithmetic.
    mutating func rfc5424() -> (bytes: [UInt8], expected: SyslogRecord) {
        let priority = below(192)
        var expected = SyslogRecord(
            format: .rfc5424, facility: SyslogFacility(rawValue: UInt8(priority >> 3))!,
            severity: SyslogSeverity(rawValue: UInt8(priority & 7))!, structuredData: [], message: [], raw: [],
            receivedAt: Date(), truncated: false)
        var text = "<\(priority)>1 "
        if chance(4) {
            text += "-"
        } else {
            let (timestamp, date) = randomTimestamp()
            text += timestamp
            expected.timestamp = date
        }
        expected.hostname = headerField(maxLength: 255)
        expected.appName = headerField(maxLength: 48)
        expected.procID = headerField(maxLength: 128)
        expected.msgID = headerField(maxLength: 32)
        for field in [expected.hostname, expected.appName, expected.procID, expected.msgID] {
            text += " " + (field ?? "-")
        }
        text += " "
        if chance(3) {
            text += "-"
        } else {
            for _ in 0...below(3) {
                let element = structuredElement()
                expected.structuredData.append(element)
                text += "[" + element.id
                for parameter in element.parameters {
                    text += " \(parameter.name)=\"\(escaped(parameter.value))\""
                }
                text += "]"
            }
        }
        var bytes = Array(text.utf8)
        if !chance(4) {
            bytes.append(UInt8(ascii: " "))
            if chance(2) { bytes += [0xEF, 0xBB, 0xBF] }
            let message = Array(randomText(maxLength: 200).utf8)
            bytes += message
            expected.message = message
        }
        return (bytes, expected)
    }

    /// One of the BSD forms the parser accepts, with random fields.
    mutating func bsd() -> [UInt8] {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        var text = "<\(below(192))>"
        let day = 1 + below(31)
        let time = "\(twoDigits(below(25))):\(twoDigits(below(60))):\(twoDigits(below(61)))"
        switch below(5) {
        case 0: text += "\(months[below(12)]) \(day < 10 ? " " : "")\(day) \(time) "
        case 1: text += "\(months[below(12)]) \(day) \(1990 + below(80)) \(time) "
        case 2: text += randomTimestamp().text + " "
        default: break
        }
        if chance(2) { text += "host\(below(100)) " }
        switch below(3) {
        case 0: text += "app\(below(10))[\(below(100_000))]: "
        case 1: text += "app-\(below(10)): "
        default: break
        }
        return Array((text + randomText(maxLength: 120)).utf8)
    }

    mutating func mutate(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        let position = below(bytes.count)
        let special = Array("<>[]\"\\= -:.0123456789TZ+\n\r\u{0}".utf8)
        switch below(7) {
        case 0: bytes[position] ^= UInt8(1) << UInt8(below(8))
        case 1: bytes[position] = randomByte()
        case 2: bytes.removeSubrange(position...)
        case 3: bytes.insert(randomByte(), at: position)
        case 4: bytes.remove(at: position)
        case 5: bytes[position] = special[below(special.count)]
        default:
            let end = min(bytes.count, position + 1 + below(20))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        }
    }

    private mutating func randomTimestamp() -> (text: String, date: Date) {
        let year = 1970 + below(130)
        let month = 1 + below(12)
        let day = 1 + below(28)
        let hour = below(24), minute = below(60), second = below(60)
        let fractionDigits = below(7)
        let fraction = fractionDigits == 0 ? 0 : below(Int(pow(10, Double(fractionDigits))))
        let offsetMinutes = chance(3) ? nil : (below(24 * 60) - 12 * 60)
        var text = "\(year)-\(twoDigits(month))-\(twoDigits(day))T\(twoDigits(hour)):\(twoDigits(minute)):\(twoDigits(second))"
        if fractionDigits > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: fractionDigits - digits.count) + digits
        }
        if let offsetMinutes {
            let magnitude = abs(offsetMinutes)
            text += (offsetMinutes < 0 ? "-" : "+") + "\(twoDigits(magnitude / 60)):\(twoDigits(magnitude % 60))"
        } else {
            text += "Z"
        }
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        let whole = Self.utc.date(from: components)!.timeIntervalSince1970
        let seconds = whole + Double(fraction) / pow(10, Double(fractionDigits)) - Double((offsetMinutes ?? 0) * 60)
        return (text, Date(timeIntervalSince1970: seconds))
    }

    /// NILVALUE (nil) or 1 to `maxLength` visible ASCII bytes, sometimes exactly `maxLength`.
    private mutating func headerField(maxLength: Int) -> String? {
        guard !chance(4) else { return nil }
        let length = chance(5) ? maxLength : 1 + below(min(maxLength, 20))
        var field = String(decoding: (0..<length).map { _ in UInt8(33 + below(94)) }, as: UTF8.self)
        if field == "-" { field = "x" }
        return field
    }

    private mutating func structuredElement() -> SyslogStructuredElement {
        var element = SyslogStructuredElement(id: sdName())
        for _ in 0..<below(4) {
            element.parameters.append(SyslogStructuredParameter(sdName(), randomText(maxLength: 30)))
        }
        return element
    }

    private mutating func sdName() -> String {
        let allowed = (33...126).map(UInt8.init).filter { !"=]\"".utf8.contains($0) }
        let length = chance(5) ? 32 : 1 + below(12)
        return String(decoding: (0..<length).map { _ in allowed[below(allowed.count)] }, as: UTF8.self)
    }

    /// Text with the bytes parsers trip on: quotes, backslashes, brackets, non-ASCII letters.
    private mutating func randomText(maxLength: Int) -> String {
        let pieces = ["a", "b", "z", "0", "9", " ", "\"", "\\", "]", "[", "=", "-", ":", "é", "日", "%"]
        var text = ""
        for _ in 0..<below(maxLength + 1) { text += pieces[below(pieces.count)] }
        return text
    }

    private func escaped(_ value: String) -> String {
        var text = ""
        for character in value {
            if character == "\"" || character == "\\" || character == "]" { text.append("\\") }
            text.append(character)
        }
        return text
    }

    private func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
