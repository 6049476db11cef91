import Foundation
import PyreTesting

extension ExternalTool {
    static var hasDnspython: Bool {
        guard let python = path("python3") else { return false }
        return (try? run(python, ["-c", "import dns.message"]).status) == 0
    }
}
