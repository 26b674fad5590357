import CoopSync
import CoopWire
import Testing

@Suite struct PeerSessionTests {
    static func vv(_ pairs: [String: UInt64]) -> VersionVector { VersionVector(pairs) }

    static func hello(_ node: String, _ vector: [String: UInt64], catalog: UInt8 = 1) -> Hello {
        Hello(
            protocolVersion: HelloCheck.protocolVersion,
            nodeId: node,
            side: .chengdu,
            catalogHash: Array(repeating: catalog, count: 32),
            rosterHash: Array(repeating: 2, count: 32),
            versionVector: vv(vector)
        )
    }

    static let me = hello("cq-shapingba", [:])

    @Test("start exchanges; a peer ahead is pulled from; caught up goes idle until the next round")
    func happyPath() {
        var s = PeerSession(peer: "cd-wuhou")
        #expect(s.start(now: 0) == [.exchange])
        #expect(s.nextWakeUpMs == nil)
        let local = Self.vv(["cq-shapingba": 3])
        let (actions, events) = s.exchanged(
            Self.hello("cd-wuhou", ["cd-wuhou": 5, "cq-shapingba": 3]),
            local: local,
            localHello: Self.me,
            now: 10
        )
        #expect(actions == [.pull(have: local)])
        #expect(events == [.up(peer: "cd-wuhou", lag: 5)])
        #expect(s.lag(local: local) == 5)
        #expect(s.behindSinceMs == 10)
        let caughtUp = Self.vv(["cq-shapingba": 3, "cd-wuhou": 5])
        #expect(s.pulled(progressed: true, local: caughtUp, now: 20) == [])
        #expect(s.phase == .idle)
        #expect(s.behindSinceMs == nil)
        #expect(s.nextWakeUpMs == 20 + s.settings.antiEntropyMs)
        #expect(s.tick(now: 20 + s.settings.antiEntropyMs - 1) == [])
        #expect(s.tick(now: 20 + s.settings.antiEntropyMs) == [.exchange])
    }

    @Test("a pull that stored part of what the peer holds pulls again; one that stored nothing waits for the round")
    func partialPulls() {
        var s = PeerSession(peer: "cd-wuhou")
        _ = s.start(now: 0)
        _ = s.exchanged(Self.hello("cd-wuhou", ["cd-wuhou": 9]), local: Self.vv([:]), localHello: Self.me, now: 0)
        let partial = Self.vv(["cd-wuhou": 4])
        #expect(s.pulled(progressed: true, local: partial, now: 5) == [.pull(have: partial)])
        // Nothing could be stored (refused, or waiting for a gap): no busy loop.
        #expect(s.pulled(progressed: false, local: partial, now: 6) == [])
        #expect(s.phase == .idle)
    }

    @Test("equal sequence numbers with different heads: a fork no pull would bring; fetched from just below, once")
    func forkAtEqualHeight() {
        func digest(_ origin: String, _ sequence: UInt64, _ head: UInt8, evidence: UInt32 = 0) -> OriginDigest {
            OriginDigest(
                origin: origin,
                sequence: sequence,
                head: Array(repeating: head, count: 32),
                evidence: evidence
            )
        }
        let vector: [String: UInt64] = ["cd-qingbaijiang": 4, "cd-wuhou": 2, "cq-shapingba": 7]
        var me = Self.hello("cq-shapingba", vector)
        me.heads = [digest("cd-qingbaijiang", 4, 1), digest("cd-wuhou", 2, 3), digest("cq-shapingba", 7, 5)]
        var peer = Self.hello("cd-wuhou", vector)
        peer.heads = [digest("cd-qingbaijiang", 4, 2), digest("cd-wuhou", 2, 3), digest("cq-shapingba", 7, 5)]
        var s = PeerSession(peer: "cd-wuhou")
        _ = s.start(now: 0)
        let local = Self.vv(vector)
        let (actions, _) = s.exchanged(peer, local: local, localHello: me, now: 1)
        #expect(actions == [.pull(have: Self.vv(["cd-qingbaijiang": 3, "cd-wuhou": 2, "cq-shapingba": 7]))])
        #expect(s.phase == .pulling)
        #expect(s.reexamined == ["cd-qingbaijiang"])
        _ = s.pulled(progressed: false, local: local, now: 2)
        // Once per session: the next round does not fetch it again.
        _ = s.tick(now: 2 + s.settings.antiEntropyMs)
        #expect(s.exchanged(peer, local: local, localHello: me, now: 3).actions == [])
        // Same heads, a peer without heads (an older node), or evidence already held: nothing to re-examine.
        #expect(PeerSession.forksAtEqualHeight(local: me.heads, remote: me.heads).isEmpty)
        #expect(PeerSession.forksAtEqualHeight(local: me.heads, remote: []).isEmpty)
        let proven = [digest("cd-qingbaijiang", 4, 1, evidence: 1)]
        #expect(PeerSession.forksAtEqualHeight(local: proven, remote: peer.heads).isEmpty)
        // Different heights are the pull's business (a pull that does not chain finds the fork).
        #expect(PeerSession.forksAtEqualHeight(local: [digest("cd-wuhou", 3, 9)], remote: peer.heads).isEmpty)
    }

    @Test("a pull that met a fork fetches that origin again from its first entry, once")
    func forkReexamined() {
        var s = PeerSession(peer: "cd-wuhou")
        _ = s.start(now: 0)
        let local = Self.vv(["cd-wuhou": 4, "cq-shapingba": 2])
        _ = s.exchanged(
            Self.hello("cd-wuhou", ["cd-wuhou": 9, "cq-shapingba": 2]),
            local: local,
            localHello: Self.me,
            now: 0
        )
        #expect(
            s.pulled(progressed: false, local: local, now: 1, forked: ["cd-wuhou"])
                == [.pull(have: Self.vv(["cq-shapingba": 2]))]
        )
        #expect(s.pulled(progressed: false, local: local, now: 2, forked: ["cd-wuhou"]) == [])
        #expect(s.reexamined == ["cd-wuhou"])
    }

    @Test("failures back off doubling up to the cap; the first failure after contact reports the peer down")
    func backoff() {
        var settings = PeerSession.Settings()
        settings.minBackoffMs = 100
        settings.maxBackoffMs = 1000
        var s = PeerSession(peer: "cd-wuhou", settings: settings)
        _ = s.start(now: 0)
        _ = s.exchanged(Self.hello("cd-wuhou", [:]), local: Self.vv([:]), localHello: Self.me, now: 0)
        _ = s.tick(now: settings.antiEntropyMs)
        var now = settings.antiEntropyMs
        #expect(s.failed("UNAVAILABLE", now: now) == [.down(peer: "cd-wuhou", reason: "UNAVAILABLE")])
        var waits: [UInt64] = []
        for _ in 0..<6 {
            let wake = s.nextWakeUpMs!
            waits.append(wake - now)
            now = wake
            #expect(s.tick(now: now) == [.exchange])
            #expect(s.failed("UNAVAILABLE", now: now) == [])
        }
        #expect(waits == [100, 200, 400, 800, 1000, 1000])
        #expect(s.failures == 7)
        #expect(!s.isUp)
    }

    @Test("a mismatched hello is refused with a long back-off and an event naming the code")
    func refusedHello() {
        var s = PeerSession(peer: "cd-wuhou")
        _ = s.start(now: 0)
        let (actions, events) = s.exchanged(
            Self.hello("cd-wuhou", [:], catalog: 9),
            local: Self.vv([:]),
            localHello: Self.me,
            now: 0
        )
        #expect(actions == [])
        guard case .refused(_, let code, let message) = events.first else {
            Issue.record("expected a refusal, got \(events)")
            return
        }
        #expect(code == "CATALOG_MISMATCH")
        #expect(message.contains("cd-wuhou holds catalog 090909090909"))
        #expect(message.contains("cq-shapingba holds 010101010101"))
        #expect(s.phase == .refused)
        #expect(s.nextWakeUpMs == s.settings.refusedBackoffMs)
    }

    @Test("a notice while idle and behind pulls at once; while a call is in flight it waits for that call")
    func notices() {
        var s = PeerSession(peer: "cd-wuhou")
        _ = s.start(now: 0)
        let local = Self.vv(["cd-wuhou": 1])
        _ = s.exchanged(Self.hello("cd-wuhou", ["cd-wuhou": 1]), local: local, localHello: Self.me, now: 0)
        #expect(s.phase == .idle)
        #expect(s.notice(origin: "cd-wuhou", sequence: 1, local: local, now: 1) == [])
        #expect(s.notice(origin: "cd-wuhou", sequence: 2, local: local, now: 1) == [.pull(have: local)])
        #expect(s.notice(origin: "cd-wuhou", sequence: 3, local: local, now: 2) == [])
        let two = Self.vv(["cd-wuhou": 2])
        #expect(s.pulled(progressed: true, local: two, now: 3) == [.pull(have: two)])
    }
}

@Suite struct HelloCheckTests {
    @Test("each mismatch has its own code and names both nodes")
    func mismatches() throws {
        let local = PeerSessionTests.me
        var remote = PeerSessionTests.hello("cd-wuhou", [:])
        try HelloCheck.check(local: local, remote: remote, expectedPeer: "cd-wuhou")
        #expect(throws: SyncError.self) { try HelloCheck.check(local: local, remote: remote, expectedPeer: "x") }
        remote.protocolVersion = 7
        do {
            try HelloCheck.check(local: local, remote: remote, expectedPeer: nil)
            Issue.record("version 7 accepted")
        } catch {
            #expect(error.code == .protocolVersion)
            #expect(error.message == "cd-wuhou speaks sync protocol version 7; cq-shapingba speaks 2")
        }
        // A version 1 node (pulls without EntryBatch, signatures checked by swift-crypto's rules) is refused.
        remote.protocolVersion = 1
        #expect(throws: SyncError.self) { try HelloCheck.check(local: local, remote: remote, expectedPeer: nil) }
        remote.protocolVersion = HelloCheck.protocolVersion
        remote.rosterHash = [3]
        do {
            try HelloCheck.check(local: local, remote: remote, expectedPeer: nil)
            Issue.record("another roster accepted")
        } catch {
            #expect(error.code == .rosterMismatch)
            #expect(error.message.contains("cd-wuhou holds roster 03, cq-shapingba holds 020202020202"))
        }
    }
}

@Suite struct VersionVectorMathTests {
    @Test func lackingCoversLag() {
        let a = VersionVector(["x": 3, "y": 1])
        let b = VersionVector(["x": 5, "z": 2, "y": 0])
        #expect(a.lacking(comparedTo: b) == ["x": 4...5, "z": 1...2])
        #expect(b.lacking(comparedTo: a) == ["y": 1...1])
        #expect(a.lag(behind: b) == 4)
        #expect(!a.covers(b))
        #expect(VersionVector(["x": 5, "y": 1, "z": 2]).covers(b))
        #expect(b.origins.map(\.origin) == ["x", "z"])
        #expect(a["nobody"] == 0)
    }

    @Test("a peer claiming the largest sequence numbers for several origins saturates the lag, never traps")
    func lyingPeer() {
        let liar = VersionVector(["x": .max, "y": .max, "z": .max])
        #expect(VersionVector().lag(behind: liar) == .max)
        var s = PeerSession(peer: "p")
        _ = s.start(now: 0)
        let (actions, events) = s.exchanged(
            PeerSessionTests.hello("p", ["x": .max, "y": .max]),
            local: VersionVector(),
            localHello: PeerSessionTests.me,
            now: 0
        )
        #expect(actions == [.pull(have: VersionVector())])
        #expect(events == [.up(peer: "p", lag: .max)])
    }
}

@Suite struct OwnHeadGuardTests {
    @Test("no peers: writes at once; with peers: only after one shows it holds no more of ours than we do")
    func guardOpens() {
        #expect(OwnHeadGuard(nodeID: "a", peers: [], local: VersionVector()).mayWrite)
        var g = OwnHeadGuard(nodeID: "a", peers: ["b", "c"], local: VersionVector(["a": 2]))
        #expect(!g.mayWrite)
        #expect(g.refusal(peers: ["b", "c"]).contains("it holds up to #2; peers b, c"))
        #expect(
            g.observe(peer: "b", remote: VersionVector(["a": 5]), local: VersionVector(["a": 2]))
                == .mustLearn(peer: "b", held: 2, peerHolds: 5)
        )
        #expect(g.observe(peer: "c", remote: VersionVector(["a": 4]), local: VersionVector(["a": 2])) == nil)
        #expect(!g.mayWrite)
        #expect(
            g.observe(peer: "b", remote: VersionVector(["a": 5]), local: VersionVector(["a": 5]))
                == .confirmed(peer: "b", held: 5, learned: 3)
        )
        #expect(g.mayWrite)
    }
}
