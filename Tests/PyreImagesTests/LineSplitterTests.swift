@testable import PyreImages
import Testing

@Suite struct LineSplitterTests {
    @Test func splitsLinesAcrossChunksAndKeepsTheLast() {
        var seen: [String] = []
        var splitter = LineSplitter(keep: 2) { seen.append($0) }
        splitter.append(Array("one\r\ntw".utf8))
        splitter.append(Array("o\nthree\nfour".utf8))
        splitter.finish()
        #expect(seen == ["one", "two", "three", "four"])
        #expect(splitter.lastLines == ["three", "four"])
    }

    @Test func cutsOverlongLines() {
        var seen: [Int] = []
        var splitter = LineSplitter(keep: 5) { seen.append($0.utf8.count) }
        splitter.append([UInt8](repeating: 0x61, count: LineSplitter.maximumLineLength + 10))
        splitter.finish()
        #expect(seen == [LineSplitter.maximumLineLength, 10])
    }
}
