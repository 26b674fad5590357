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

echo "== build (warnings are errors)"
flags=(-Xswiftc -warnings-as-errors --explicit-target-dependency-import-check error)
swift build --build-tests "${flags[@]}"

echo "== tests"
swift test --skip-build "${flags[@]}"

echo "== fuzz smoke (libFuzzer targets: the regression inputs and 2,000 executions each)"
scripts/fuzz.sh --smoke
