import CoopLedger
import Dispatch
import Foundation
import Synchronization

/// Raw Ed25519 verification (``SignatureCheck/isValid(signature:of:publicKey:)``, as `audit verify` calls it).
enum VerifyBench {
    struct Result {
        var singleCore: Double
        var allCores: Double
        var workers: Int
        /// Cores busy (CPU time ÷ wall time) in each measurement.
        var singleCPU: Double
        var allCPU: Double
    }

    /// Verifies for about `seconds` per run, `repeats` runs on one core and as many on all cores; keeps the best.
    static func run(bodies: [[UInt8]], seconds: Double, repeats: Int = 3) -> Result {
        let keys = NodeKeys.generate(name: "bench")
        let signer = keys.makeSigner()
        let jobs = bodies.map { (body: $0, signature: signer.sign($0)) }
        let key = keys.signingPublicKey

        // Single core: a short calibration, then about `seconds` worth.
        @Sendable func verify(_ count: Int, from offset: Int) -> Int {
            var good = 0
            for i in 0..<count {
                let job = jobs[(offset + i) % jobs.count]
                if SignatureCheck.isValid(signature: job.signature, of: job.body, publicKey: key) { good += 1 }
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
