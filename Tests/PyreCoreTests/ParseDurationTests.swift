import Testing
import PyreCore

@Suite struct ParseDurationTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)),
        ("2s", .seconds(2)),
        ("10m", .seconds(600)),
        ("24h", .seconds(86_400)),
        ("1h30m", .seconds(5_400)),
        ("1.5s", .milliseconds(1_500)),
        (".25s", .milliseconds(250)),
        ("2m3s4ms", .milliseconds(123_004)),
        ("0s", .zero),
        ("0.1ms", .microseconds(100)),
        ("30d", .seconds(2_592_000)),
        ("1d12h", .seconds(129_600)),
    ])
    func parses(_ text: String, _ expected: Duration) {
        #expect(parseDuration(text) == expected)
    }

    @Test(arguments: ["", "5", "5 seconds", "s", "-1s", "1.s", "1D", "2S", " 2s", "2s ", "1h-30m", "99999999999h", "1e3s", "2562047.9h"])
    func refuses(_ text: String) {
        #expect(parseDuration(text) == nil)
    }
}
