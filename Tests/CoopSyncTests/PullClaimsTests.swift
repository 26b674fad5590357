import CoopSync
import CoopWire
import Testing

@Suite struct PullClaimsTests {
    let local = VersionVector(["cq-shapingba": 5, "cd-wuhou": 2])

    @Test("a second pull asks only for what lies beyond the first one's claim")
    func second() {
        var claims = PullClaims()
        let a = claims.claim(
            peer: "cd-wuhou",
            have: local,
            local: local,
            remote: VersionVector(["cq-shapingba": 5, "cd-wuhou": 900]),
            now: 10
        )
        #expect(a == local)
        let b = claims.claim(
            peer: "cd-qingbaijiang",
            have: local,
            local: local,
            remote: VersionVector(["cq-shapingba": 5, "cd-wuhou": 1000, "cd-qingbaijiang": 7]),
            now: 20
        )
        #expect(b == VersionVector(["cq-shapingba": 5, "cd-wuhou": 900]))
        #expect(claims.claimants == ["cd-qingbaijiang", "cd-wuhou"])
    }

    @Test("stale and released claims hold nobody up")
    func staleAndReleased() {
        var claims = PullClaims(staleAfterMs: 100)
        _ = claims.claim(peer: "a", have: local, local: local, remote: VersionVector(["cd-wuhou": 50]), now: 0)
        claims.touch(peer: "a", now: 50)
        let fresh = claims.claim(peer: "b", have: local, local: local, remote: local, now: 150)
        #expect(fresh["cd-wuhou"] == 50)
        let stale = claims.claim(peer: "b", have: local, local: local, remote: local, now: 151)
        #expect(stale == local)
        claims.touch(peer: "a", now: 200)
        claims.release(peer: "a")
        #expect(claims.claim(peer: "b", have: local, local: local, remote: local, now: 201) == local)
        #expect(claims.claimants == ["b"])
    }

    @Test("an origin asked for from below what is held (a fork re-examined) is not raised")
    func reexamined() {
        var claims = PullClaims()
        _ = claims.claim(peer: "a", have: local, local: local, remote: VersionVector(["cq-shapingba": 9]), now: 0)
        let refetch = VersionVector(["cd-wuhou": 2])  // cq-shapingba from its first entry
        let asked = claims.claim(peer: "b", have: refetch, local: local, remote: local, now: 1)
        #expect(asked == refetch)
    }

    @Test("a pull does not claim the origins another claim covers: a failed claimant's origin is fetched by the other")
    func noHandBack() {
        var claims = PullClaims()
        let x = VersionVector(["cd-wuhou": 100_000])
        _ = claims.claim(peer: "p", have: VersionVector(), local: VersionVector(), remote: x, now: 0)
        // q's peer holds the same origin: q asks from p's claim and must not claim cd-wuhou itself.
        let asked = claims.claim(
            peer: "q",
            have: VersionVector(),
            local: VersionVector(),
            remote: VersionVector(["cd-wuhou": 100_000, "cq-shapingba": 5]),
            now: 1
        )
        #expect(asked == x)
        // p's pull fails; p retries while q's claim is fresh: p must fetch cd-wuhou itself.
        claims.release(peer: "p")
        claims.touch(peer: "q", now: 2)
        let retry = claims.claim(peer: "p", have: VersionVector(), local: VersionVector(), remote: x, now: 3)
        #expect(retry["cd-wuhou"] == 0, "cd-wuhou was handed back to q, which does not fetch it")
        #expect(retry["cq-shapingba"] == 5)
    }
}
