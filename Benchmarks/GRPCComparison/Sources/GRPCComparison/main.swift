import Glibc

// grpc-comparison: grpc-swift-2's unary round trip beside CoopRPC's, in one run (issue 7 §6). Run it through
// scripts/run-grpc-comparison.sh; see docs/BENCHMARKS.md.
exit(await Comparison.main(CommandLine.arguments))
