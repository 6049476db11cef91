/// The candidate closest to `word` when it is close enough to be a likely typo.
func closestMatch(to word: String, among candidates: some Sequence<String>) -> String? {
    let scored = candidates.map { (candidate: $0, distance: editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
    // Two edits catch most typos (a swapped pair is two); for very short words that would
    // suggest nearly anything.
    let limit = word.count <= 3 ? 1 : 2
    return best.distance <= limit ? best.candidate : nil
}

/// `did you mean "x"?` when `word` looks like a typo of one of `candidates`.
func didYouMean(_ word: String, among candidates: some Sequence<String>) -> String? {
    closestMatch(to: word, among: candidates).map { "did you mean \"\($0)\"?" }
}

/// Levenshtein distance: insertions, deletions and substitutions needed to turn `a` into `b`.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
