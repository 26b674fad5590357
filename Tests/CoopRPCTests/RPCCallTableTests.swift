import CoopRPC
import CoopTestKit
import Testing

/// The server's call book: limits, duplicates, credit and cancellation, by example and against a model under seeded
/// random operations.
@Suite("RPC call table")
struct RPCCallTableTests {
    let alice: [UInt8] = Array("alice".utf8)
    let bob: [UInt8] = Array("bob".utf8)

    @Test("duplicate ids, server and per-caller limits are refused with their own code and reason")
    func admission() {
        var table = RPCCallTable(limits: .init(maxCalls: 4, maxCallsPerPeer: 2, defaultCredit: 4))
        let first = table.open(.init(peer: alice, callID: 1), method: "/a.B/C", credit: nil)
        #expect(first == nil)
        let duplicate = table.open(.init(peer: alice, callID: 1), method: "/a.B/C", credit: nil)
        #expect(duplicate?.code == .alreadyExists && duplicate?.reason == RPCReason.duplicateCallID)
        // The same id from another caller is another call.
        let fromBob = table.open(.init(peer: bob, callID: 1), method: "/a.B/C", credit: nil)
        let second = table.open(.init(peer: alice, callID: 2), method: "/a.B/C", credit: nil)
        #expect(fromBob == nil && second == nil)
        let perPeer = table.open(.init(peer: alice, callID: 3), method: "/a.B/C", credit: nil)
        #expect(perPeer?.code == .resourceExhausted && perPeer?.reason == RPCReason.overloaded)
        #expect(perPeer?.message.contains("per caller") == true)
        let fourth = table.open(.init(peer: bob, callID: 2), method: "/a.B/C", credit: nil)
        #expect(fourth == nil)
        let server = table.open(.init(peer: Array("carol".utf8), callID: 1), method: "/a.B/C", credit: nil)
        #expect(server?.code == .resourceExhausted && server?.message.contains("its limit") == true)
        #expect(table.count == 4)
        let gone = table.peerGone(alice)
        #expect(gone == [1, 2])
        #expect(table.count == 2 && table.count(of: alice) == 0)
    }

    @Test("a stream never sends past its credit; credit and cancel for unknown calls are NOT_FOUND")
    func credit() {
        var table = RPCCallTable(limits: .init(defaultCredit: 2))
        let key = RPCCallTable.Key(peer: alice, callID: 9)
        let opened = table.open(key, method: "/a.B/C", credit: nil)
        #expect(opened == nil)
        let takes = (0..<3).map { _ in table.takeCredit(key) }
        #expect(takes == [true, true, false])
        let granted = table.grant(key, credit: 1)
        #expect((try? granted.get()) == 1)
        let more = (0..<2).map { _ in table.takeCredit(key) }
        #expect(more == [true, false])
        let unknown = RPCCallTable.Key(peer: alice, callID: 10)
        guard case .failure(let error) = table.grant(unknown, credit: 5) else {
            Issue.record("credit for an unknown call was accepted")
            return
        }
        #expect(error.code == .notFound && error.reason == RPCReason.unknownCall)
        let cancelled = table.cancel(key)
        let again = table.cancel(key)
        let afterCancel = table.takeCredit(key)
        #expect(cancelled == nil && again?.reason == RPCReason.unknownCall && !afterCancel)
    }

    @Test("random operations agree with a simple model (seeded)", arguments: 0..<20)
    func model(_ seed: UInt64) {
        var random = SeededRandom(seed: 0xC0FFEE + seed)
        let limits = RPCCallTable.Limits(maxCalls: 12, maxCallsPerPeer: 5, defaultCredit: 3)
        var table = RPCCallTable(limits: limits)
        var model: [RPCCallTable.Key: UInt64] = [:]
        let peers: [[UInt8]] = [alice, bob, Array("carol".utf8)]
        for step in 0..<2000 {
            let key = RPCCallTable.Key(
                peer: peers[Int(random.next() % 3)],
                callID: random.next() % 8 + 1
            )
            switch random.next() % 5 {
            case 0:
                let credit: UInt32? = random.next() % 2 == 0 ? nil : UInt32(random.next() % 5)
                let refused = table.open(key, method: "/a.B/C", credit: credit)
                let allowed =
                    model[key] == nil && model.count < limits.maxCalls
                    && model.keys.filter { $0.peer == key.peer }.count < limits.maxCallsPerPeer
                #expect((refused == nil) == allowed, "seed \(seed) step \(step)")
                if allowed { model[key] = UInt64(credit ?? limits.defaultCredit) }
            case 1:
                let n = UInt32(random.next() % 4)
                let result = table.grant(key, credit: n)
                if let credit = model[key] {
                    model[key] = credit + UInt64(n)
                    #expect((try? result.get()) == model[key], "seed \(seed) step \(step)")
                } else {
                    #expect((try? result.get()) == nil, "seed \(seed) step \(step)")
                }
            case 2:
                let took = table.takeCredit(key)
                let expected = (model[key] ?? 0) > 0
                #expect(took == expected, "seed \(seed) step \(step)")
                if expected { model[key]! -= 1 }
            case 3:
                let refused = table.cancel(key)
                #expect((refused == nil) == (model.removeValue(forKey: key) != nil), "seed \(seed) step \(step)")
            default:
                let gone = table.peerGone(key.peer)
                let expected = model.keys.filter { $0.peer == key.peer }.map(\.callID).sorted()
                #expect(gone == expected, "seed \(seed) step \(step)")
                for id in expected { model.removeValue(forKey: .init(peer: key.peer, callID: id)) }
            }
            #expect(table.count == model.count, "seed \(seed) step \(step)")
        }
    }
}
