/// One metric of the text format, built at scrape time: its HELP and TYPE lines and samples,
/// each sample's labels in the order given.
struct MetricFamily {
    enum Kind: String { case counter, gauge }
    typealias Labels = [(name: String, value: String)]
    typealias Sample = (labels: Labels, value: Double)

    var name: String
    var kind: Kind
    var help: String
    var samples: [Sample]

    init(_ name: String, _ kind: Kind, _ help: String, _ samples: [Sample]) {
        (self.name, self.kind, self.help, self.samples) = (name, kind, help, samples)
    }

    /// One sample per distinct label set among `items`, valued by how many items have it,
    /// in the order of the label sets' text.
    static func counting(_ name: String, _ kind: Kind, _ help: String, _ items: [Labels]) -> MetricFamily {
        var counts: [String: (labels: Labels, count: Int)] = [:]
        for labels in items { counts[format(labels), default: (labels, 0)].count += 1 }
        return MetricFamily(name, kind, help, counts.sorted { $0.key < $1.key }.map { ($0.value.labels, Double($0.value.count)) })
    }

    var text: String {
        var text = "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
        for sample in samples {
            text += name + (sample.labels.isEmpty ? "" : "{\(Self.format(sample.labels))}") + " \(Self.format(sample.value))\n"
        }
        return text
    }

    /// `a="1",b="2"`: values escape backslash, double quote and line feed (the text format's rule).
    static func format(_ labels: Labels) -> String {
        labels.map { label in
            let value = label.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
            return "\(label.name)=\"\(value)\""
        }.joined(separator: ",")
    }

    /// Whole numbers without a fraction, as counts are.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}
