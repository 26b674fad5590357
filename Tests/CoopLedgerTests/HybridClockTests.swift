import CoopLedger
import CoopTestKit
import CoopWire
import Testing

@Suite("Hybrid logical clock")
struct HybridClockTests {
    @Test("follows physical time, never goes back, counts within a millisecond")
    func monotonic() {
        var clock = HybridClock()
        let a = clock.tick(physicalMs: 1000)
        let b = clock.tick(physicalMs: 1000)
        let c = clock.tick(physicalMs: 999)
        let d = clock.tick(physicalMs: 2000)
        #expect(a == HybridTimestamp(wallMs: 1000, logical: 0))
        #expect(b == HybridTimestamp(wallMs: 1000, logical: 1))
        #expect(c == HybridTimestamp(wallMs: 1000, logical: 2))
        #expect(d == HybridTimestamp(wallMs: 2000, logical: 0))
    }

    @Test("an observed remote time orders later local events after it; far skew is reported, not refused")
    func observe() {
        var clock = HybridClock(maxSkewMs: 500)
        #expect(clock.observe(HybridTimestamp(wallMs: 1300, logical: 4), physicalMs: 1000) == nil)
        #expect(clock.tick(physicalMs: 1000) == HybridTimestamp(wallMs: 1300, logical: 5))
        #expect(clock.observe(HybridTimestamp(wallMs: 9000, logical: 0), physicalMs: 1000) == 8000)
        #expect(clock.tick(physicalMs: 1001) > HybridTimestamp(wallMs: 9000, logical: 0))
    }

    @Test("random interleavings stay strictly increasing (seeded)")
    func property() {
        var rng = SeededRandom(seed: 7)
        var clock = HybridClock()
        var previous = HybridTimestamp()
        var physical: UInt64 = 10_000
        for _ in 0..<5000 {
            physical = physical &+ UInt64(rng.next() % 3) &- 1
            if rng.next() % 4 == 0 {
                clock.observe(HybridTimestamp(wallMs: physical + rng.next() % 50, logical: 0), physicalMs: physical)
            }
            let t = clock.tick(physicalMs: physical)
            #expect(t > previous)
            previous = t
        }
    }
}
