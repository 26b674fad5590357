import CoopLedger
import CoopTestKit
import CoopWire
import Testing

@Suite("Hybrid logical clock")
struct HybridClockTests {
    @Test("follows physical time, never goes back, counts within a millisecond")
    func monotonic() throws {
        var clock = HybridClock()
        let a = try clock.tick(physicalMs: 1000)
        let b = try clock.tick(physicalMs: 1000)
        let c = try clock.tick(physicalMs: 999)
        let d = try clock.tick(physicalMs: 2000)
        #expect(a == HybridTimestamp(wallMs: 1000, logical: 0))
        #expect(b == HybridTimestamp(wallMs: 1000, logical: 1))
        #expect(c == HybridTimestamp(wallMs: 1000, logical: 2))
        #expect(d == HybridTimestamp(wallMs: 2000, logical: 0))
    }

    @Test("an observed remote time orders later local events after it; far skew is reported and never adopted")
    func observe() throws {
        var clock = HybridClock(maxSkewMs: 500)
        #expect(clock.observe(HybridTimestamp(wallMs: 1300, logical: 4), physicalMs: 1000) == nil)
        #expect(try clock.tick(physicalMs: 1000) == HybridTimestamp(wallMs: 1300, logical: 5))
        // Years ahead: reported with its skew, but the clock moves at most to physical time + maxSkew.
        #expect(clock.observe(HybridTimestamp(wallMs: 9000, logical: 0), physicalMs: 1000) == 8000)
        #expect(clock.last == HybridTimestamp(wallMs: 1500, logical: 0))
        #expect(try clock.tick(physicalMs: 1001) == HybridTimestamp(wallMs: 1500, logical: 1))
        // At the end of time: no overflow, within the skew, adopted.
        #expect(clock.observe(HybridTimestamp(wallMs: .max, logical: .max), physicalMs: .max - 10) == nil)
        #expect(clock.last == HybridTimestamp(wallMs: .max, logical: .max))
    }

    @Test("the counter saturates with an error instead of wrapping; the next millisecond frees it")
    func saturation() throws {
        var clock = HybridClock(last: HybridTimestamp(wallMs: 5000, logical: UInt32.max - 1))
        #expect(try clock.tick(physicalMs: 4000) == HybridTimestamp(wallMs: 5000, logical: UInt32.max))
        let error = #expect(throws: LedgerError.self) { try clock.tick(physicalMs: 5000) }
        #expect(error?.code == .resourceExhausted)
        #expect(clock.last == HybridTimestamp(wallMs: 5000, logical: UInt32.max))
        #expect(try clock.tick(physicalMs: 5001) == HybridTimestamp(wallMs: 5001, logical: 0))
    }

    @Test("a clock restored from a log stamped far ahead starts at most maxSkew ahead of physical time")
    func bounded() {
        let clock = HybridClock(last: HybridTimestamp(wallMs: 10_000_000, logical: 3), maxSkewMs: 100)
        #expect(clock.bounded(physicalMs: 1000).last == HybridTimestamp(wallMs: 1100, logical: 0))
        #expect(clock.bounded(physicalMs: 20_000_000).last == clock.last)
    }

    @Test("random interleavings stay strictly increasing (seeded)")
    func property() throws {
        var rng = SeededRandom(seed: 7)
        var clock = HybridClock()
        var previous = HybridTimestamp()
        var physical: UInt64 = 10_000
        for _ in 0..<5000 {
            physical = physical &+ UInt64(rng.next() % 3) &- 1
            if rng.next() % 4 == 0 {
                clock.observe(HybridTimestamp(wallMs: physical + rng.next() % 50, logical: 0), physicalMs: physical)
            }
            let t = try clock.tick(physicalMs: physical)
            #expect(t > previous)
            previous = t
        }
    }
}
