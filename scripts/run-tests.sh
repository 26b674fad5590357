#!/usr/bin/env bash
# Everything CI runs: installs what is missing, checks the generated code is current, lints, builds with
# warnings as errors and runs every test. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== generated code"
scripts/generate-proto.sh --check

echo "== lint"
swift format lint --strict --recursive --configuration .swift-format Package.swift Sources Tests

echo "== build (warnings are errors)"
flags=(-Xswiftc -warnings-as-errors --explicit-target-dependency-import-check error)
swift build --build-tests "${flags[@]}"

echo "== tests"
swift test --skip-build "${flags[@]}"
