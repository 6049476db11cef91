import Foundation
import Testing
@testable import PyreAPI

/// The replay client's one-pass reader gives what a JSON parser gives, whatever the order of
/// keys or the spacing, and refuses what the events API does not write.
struct EventsPageReaderTests {
    static let id = "0b6e1a1c-3f59-4c1e-9a7e-1f0c3b2a4d5e"

    @Test func readsTheEnvelopeAndKeepsDocumentsAsTheirBytes() throws {
        let page = """
            {"events":[{"data":{"a":[1,{"b":"x}]\\"y"}],"c":null},"id":"\(Self.id)","metadata":null,"position":7,\
            "recordedAt":"2026-01-02T03:04:05.678Z","stream":"orders","type":"Placed","version":0},
             { "version" : 1 , "type" : "Tab\\tbed \\u00e9\\/" , "stream" : "orders" , "recordedAt" : "2026-01-02T03:04:05.679Z" ,
               "position" : 8 , "metadata" : {"by":"me"} , "id" : "\(Self.id.uppercased())" , "data" : "text" , "extra" : [true] }],
             "lastPosition":8}
            """
        let events = try EventsPageReader.events(in: Data(page.utf8))
        #expect(events.count == 2)
        #expect(events[0] == ReplayedEvent(
            stream: "orders", id: UUID(uuidString: Self.id)!, type: "Placed", version: 0, position: 7,
            recordedAt: "2026-01-02T03:04:05.678Z", data: Data(#"{"a":[1,{"b":"x}]\"y"}],"c":null}"#.utf8), metadata: nil))
        #expect(events[1].type == "Tab\tbed é/")
        #expect(events[1].id == UUID(uuidString: Self.id))
        #expect(events[1].data == Data(#""text""#.utf8))
        #expect(events[1].metadata == Data(#"{"by":"me"}"#.utf8))
        #expect((events[1].version, events[1].position) == (1, 8))
    }

    /// Strings equal to the last event's are shared, so a field that changes and changes back must still read right.
    @Test func fieldsThatChangeFromEventToEventAreReadAsTheyAre() throws {
        func event(_ stream: String, _ type: String, _ time: String) -> String {
            #"{"stream":"\#(stream)","id":"\#(Self.id)","type":"\#(type)","version":0,"position":0,"recordedAt":"\#(time)","data":1,"metadata":null}"#
        }
        let page = #"{"events":["# + [
            event("ab", "X", "2026-01-02T03:04:05.678Z"), event("cd", "Y", "2026-01-02T03:04:05.678Z"),
            event("ab", "Y", "2026-01-02T03:04:05.679Z"), event("", "X", ""),
        ].joined(separator: ",") + "]}"
        let events = try EventsPageReader.events(in: Data(page.utf8))
        #expect(events.map(\.stream) == ["ab", "cd", "ab", ""])
        #expect(events.map(\.type) == ["X", "Y", "Y", "X"])
        #expect(events.map(\.recordedAt) == ["2026-01-02T03:04:05.678Z", "2026-01-02T03:04:05.678Z", "2026-01-02T03:04:05.679Z", ""])
    }

    @Test func anEmptyPageHasNoEvents() throws {
        #expect(try EventsPageReader.events(in: Data(#"{"events":[],"lastPosition":-1}"#.utf8)).isEmpty)
    }

    @Test(arguments: [
        "", "[]", #"{"events":[{}]}"#, #"{"events":[1]}"#, #"{"events":[]"#, #"{"events":[]} x"#,
        #"{"events":[{"data":1,"id":"not-a-uuid","metadata":null,"position":0,"recordedAt":"","stream":"s","type":"T","version":0}]}"#,
        #"{"events":[{"data":1,"id":"\#(id)","metadata":null,"position":-1,"recordedAt":"","stream":"s","type":"T","version":0}]}"#,
        #"{"events":[{"data":1,"id":"\#(id)","metadata":null,"position":99999999999999999999,"recordedAt":"","stream":"s","type":"T","version":0}]}"#,
        #"{"events":[{"data":"unterminated"#,
        #"{"events":[{"data":1,"id":"0b6e1a1c-3f59-4c1e-9a7e-1f0c3b2a4d5g","metadata":null,"position":0,"recordedAt":"","stream":"s","type":"T","version":0}]}"#,
        #"{"events":[{"data":1,"id":"0b6e1a1c-3f59-4c1e-9a7e+1f0c3b2a4d5e","metadata":null,"position":0,"recordedAt":"","stream":"s","type":"T","version":0}]}"#,
    ])
    func malformedPagesAreRefused(_ page: String) {
        #expect(throws: EventsPageReader.Malformed.self) { try EventsPageReader.events(in: Data(page.utf8)) }
    }
}
