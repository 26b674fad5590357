#!/usr/bin/env bash
# Everything CI runs: installs what is missing, checks the generated code is current, lints, builds with
# warnings as errors, runs every test, then builds the fuzz targets and runs their smoke check
# (docs/FUZZING.md). `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== generated code"
scripts/generate-proto.sh --check

echo "== lint"
swift format lint --strict --recursive --configuration .swift-format Package.swift Sources Tests Fuzz

echo "== source checks"
# A Mutex whose value is a function type (or an optional or a tuple holding one) reabstracts the function on every
# withLock (out of the lock's generic storage and back in through the inout), adding two thunks each time: every call
# through it then walks a chain one write longer (SyncHub's publisher and the RPC transports' handlers did this).
# Keep such a function in a struct inside the Mutex. Collections of functions are not affected.
if grep -rnE 'Mutex<[^[][^>]*->' Sources Tests Benchmarks Fuzz; then
    echo "a Mutex holds a function type as its value (above): put the function in a struct" >&2
    exit 1
fi

echo "== build (warnings are errors)"
flags=(-Xswiftc -warnings-as-errors --explicit-target-dependency-import-check error)
swift build --build-tests "${flags[@]}"

echo "== tests"
swift test --skip-build "${flags[@]}"

echo "== fuzz smoke (libFuzzer targets: the regression inputs and 2,000 executions each)"
scripts/fuzz.sh --smoke
