import Glibc

// coop-bench: CoopLedger's benchmarks in one run (issue 3 §6). Run it through scripts/run-benchmarks.sh, which
// builds in release mode; see docs/BENCHMARKS.md.
exit(await CoopBench.main(CommandLine.arguments))
