import Foundation
import PyreCore
import Testing

@Suite("Random UUIDs")
struct RandomUUIDTests {
    @Test func idsAreVersion4AndDistinctAcrossManyBufferRefills() {
        let ids = (0..<10_000).map { _ in UUID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.uuid.6 >> 4 == 4, "version nibble of \(id)")
            #expect(id.uuid.8 >> 6 == 0b10, "variant bits of \(id)")
        }
        // Each byte position takes many values: the bytes are not a constant or a counter.
        let firstBytes = Set(ids.map(\.uuid.0))
        let lastBytes = Set(ids.map(\.uuid.15))
        #expect(firstBytes.count > 200 && lastBytes.count > 200)
    }

    @Test func idsFromManyTasksAtOnceAreDistinct() async {
        let ids = await withTaskGroup(of: [UUID].self) { group in
            for _ in 0..<8 { group.addTask { (0..<2_000).map { _ in UUID.random() } } }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(ids).count == 16_000)
    }
}
