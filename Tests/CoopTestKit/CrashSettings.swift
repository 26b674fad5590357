import Foundation

/// How many SIGKILLs a crash test runs and the seed of its kill timings, from the environment: the test's own
/// kills variable (e.g. `COOP_CRASH_KILLS=1000` for a stress run) and `COOP_CRASH_SEED` to repeat a run. The
/// seed is printed so a failure can be replayed.
public struct CrashSettings: Sendable {
    public var kills: Int
    public var seed: UInt64

    public init(test: String, killsVariable: String, defaultKills: Int) {
        let environment = ProcessInfo.processInfo.environment
        kills = Int(environment[killsVariable] ?? "") ?? defaultKills
        seed = UInt64(environment["COOP_CRASH_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64.max)
        print("\(test): \(kills) kills, COOP_CRASH_SEED=\(seed)")
    }
}
