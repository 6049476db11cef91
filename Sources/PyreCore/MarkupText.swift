/// Escaping for text and double- or single-quoted attribute values in XML and HTML (Route 53's
/// request bodies, the dashboard's pages).
public enum MarkupText {
    public static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
