import CoopLedger
import Crypto
import Dispatch
import Foundation
import Synchronization

/// Raw Ed25519 verification: libsodium through ``SignatureCheck/isValid(signature:of:publicKey:)`` (as `audit verify`
/// and ingest call it), or swift-crypto's `Curve25519.Signing.PublicKey`, the other verifier on this machine.
enum VerifyBench {
    enum Verifier: String, CaseIterable {
        case libsodium = "libsodium"
        case swiftCrypto = "swift-crypto"
    }

    struct Result {
        var singleCore: Double
        var allCores: Double
        var workers: Int
        /// Cores busy (CPU time ÷ wall time) in each measurement.
        var singleCPU: Double
        var allCPU: Double
    }

    /// Verifies for about `seconds` per run, `repeats` runs on one core and as many on all cores; keeps the best.
    static func run(bodies: [[UInt8]], seconds: Double, repeats: Int = 3, verifier: Verifier = .libsodium) -> Result {
        let keys = NodeKeys.generate(name: "bench")
        let signer = keys.makeSigner()
        let jobs = bodies.map { (body: $0, signature: signer.sign($0)) }
        let key = keys.signingPublicKey
        let check: @Sendable ([UInt8], [UInt8]) -> Bool =
            switch verifier {
            case .libsodium: { SignatureCheck.isValid(signature: $0, of: $1, publicKey: key) }
            // The key wrapper is rebuilt per check as coop did before libsodium (BoringSSL decodes the point in
            // the verify itself, so this costs next to nothing).
            case .swiftCrypto:
                {
                    (try? Curve25519.Signing.PublicKey(rawRepresentation: key))?.isValidSignature($0, for: $1) ?? false
                }
            }

        // Single core: a short calibration, then about `seconds` worth.
        @Sendable func verify(_ count: Int, from offset: Int) -> Int {
            var good = 0
            for i in 0..<count {
                let job = jobs[(offset + i) % jobs.count]
                if check(job.signature, job.body) { good += 1 }
            }
            return good
        }
        let (_, calibration) = timed { verify(200, from: 0) }
        let count = max(200, Int(seconds / (calibration / 200)))
        // Best of `repeats` (other processes only ever slow a run down).
        var single = Double.infinity
        var singleCPU = 0.0
        for _ in 0..<repeats {
            let cpu0 = cpuTime()
            let (good, elapsed) = timed { verify(count, from: 0) }
            precondition(good == count, "a signature made here failed to verify")
            if elapsed < single {
                single = elapsed
                singleCPU = (cpuTime() - cpu0) / elapsed
            }
        }
        let singleRate = Double(count) / single

        // Every core: each worker verifies the same count; wall time until all are done.
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        var parallel = Double.infinity
        var allCPU = 0.0
        for _ in 0..<repeats {
            let total = Atomic<Int>(0)
            let cpu1 = cpuTime()
            let (_, elapsed) = timed {
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    total.add(verify(count, from: w * 7919), ordering: .relaxed)
                }
            }
            precondition(total.load(ordering: .relaxed) == count * workers, "a signature made here failed to verify")
            if elapsed < parallel {
                parallel = elapsed
                allCPU = (cpuTime() - cpu1) / elapsed
            }
        }
        return Result(
            singleCore: singleRate,
            allCores: Double(count * workers) / parallel,
            workers: workers,
            singleCPU: singleCPU,
            allCPU: allCPU
        )
    }
}
