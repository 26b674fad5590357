import CoopSync
import CoopWire
import Foundation
import Testing

/// Seeded random event sequences against ``PeerSession``: whatever arrives in whatever order, at most one call is in
/// flight, a wake-up is due exactly when none is, back-off stays within bounds, and a session that is fed hellos
/// and pulls ends caught up. A failing seed is printed; `COOP_SESSION_SEED=N` replays it alone.
@Suite struct PeerSessionRandomTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static var seeds: [UInt64] {
        if let one = ProcessInfo.processInfo.environment["COOP_SESSION_SEED"].flatMap(UInt64.init) { return [one] }
        return Array(1...300)
    }

    @Test(arguments: seeds)
    func randomEvents(seed: UInt64) {
        var rng = Generator(state: seed)
        var settings = PeerSession.Settings()
        settings.minBackoffMs = 10
        settings.maxBackoffMs = 500
        settings.antiEntropyMs = 200
        var s = PeerSession(peer: "p", settings: settings)
        let me = PeerSessionTests.me
        var now: UInt64 = 0
        var local: [String: UInt64] = [:]
        var remote: [String: UInt64] = [:]
        var inFlight: PeerSession.Action?
        func take(_ actions: [PeerSession.Action]) {
            #expect(actions.count <= 1, "seed \(seed): \(actions)")
            if let action = actions.first {
                #expect(inFlight == nil, "seed \(seed): \(action) while \(String(describing: inFlight)) in flight")
                inFlight = action
            }
        }
        /// The peer answers the call in flight: its hello, or a pull bringing up to two entries per origin.
        func answer(_ action: PeerSession.Action) {
            switch action {
            case .exchange:
                let hello = PeerSessionTests.hello("p", remote)
                take(s.exchanged(hello, local: VersionVector(local), localHello: me, now: now).actions)
            case .pull(let have):
                #expect(have == VersionVector(local), "seed \(seed)")
                var progressed = false
                for (origin, held) in remote where (local[origin] ?? 0) < held {
                    local[origin] = min(held, (local[origin] ?? 0) + 2)
                    progressed = true
                }
                take(s.pulled(progressed: progressed, local: VersionVector(local), now: now))
            }
        }
        take(s.start(now: now))
        for _ in 0..<400 {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0:  // time passes
                now += UInt64.random(in: 0...300, using: &rng)
                if inFlight == nil { take(s.tick(now: now)) }
            case 1:  // the peer gets new entries and maybe announces one
                let origin = ["a", "b", "c"].randomElement(using: &rng)!
                remote[origin, default: 0] += 1
                if Bool.random(using: &rng) {
                    let actions = s.notice(
                        origin: origin,
                        sequence: remote[origin]!,
                        local: VersionVector(local),
                        now: now
                    )
                    take(actions)
                }
            default:  // the call in flight ends: answered, or failed
                guard let action = inFlight else { continue }
                inFlight = nil
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    _ = s.failed("UNAVAILABLE", now: now)
                    let wait = (s.nextWakeUpMs ?? now) - now
                    #expect(wait >= settings.minBackoffMs && wait <= settings.maxBackoffMs, "seed \(seed)")
                    continue
                }
                answer(action)
            }
            #expect(
                (s.nextWakeUpMs == nil) == (inFlight != nil),
                "seed \(seed): \(s.phase), \(String(describing: inFlight))"
            )
        }
        // Quiet from here: every call answered, time passes; the session catches up with the peer.
        for _ in 0..<200 {
            if let action = inFlight {
                inFlight = nil
                answer(action)
            } else {
                now = max(now, s.nextWakeUpMs ?? now)
                take(s.tick(now: now))
            }
        }
        #expect(VersionVector(local).covers(VersionVector(remote)), "seed \(seed): \(local) vs \(remote)")
        #expect(s.isUp, "seed \(seed)")
    }
}
