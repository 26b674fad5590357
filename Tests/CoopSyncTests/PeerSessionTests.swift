import CoopSync
import CoopWire
import Testing

@Suite struct PeerSessionTests {
    @Test func placeholder() {}
}
