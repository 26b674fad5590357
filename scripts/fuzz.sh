#!/usr/bin/env bash
# Builds the libFuzzer targets (the separate package Fuzz/, scratch path .build-fuzz) and runs them; see
# docs/FUZZING.md.
#
#   scripts/fuzz.sh                         every target, 100,000 executions each
#   scripts/fuzz.sh --runs 10000000 fuzz-wire fuzz-json
#   scripts/fuzz.sh --max-time 600 fuzz-open     at most 600 seconds per target (with or without --runs)
#   scripts/fuzz.sh --smoke                 the CI check: the regressions and 2,000 executions per target
#   scripts/fuzz.sh --update-corpus …       also merge what the run found into Fuzz/Corpus/<target>/
#   scripts/fuzz.sh --make-seeds            regenerate Fuzz/Corpus/ from the targets' seeds (minimized)
#   scripts/fuzz.sh --no-skip-known …       do not skip inputs of the known bugs listed below
#
# Each run starts from Fuzz/Corpus/<target>/ (read only) and writes what it finds to .fuzz/<target>/corpus/.
# It first replays Fuzz/Regressions/<target>/ (inputs of bugs found earlier). A crash, a failed property, a
# timeout or running out of memory stops the script with exit 1 and the input saved under .fuzz/crashes/<target>/;
# the script prints the command that replays it. Prints executions and executions per second per target.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

all_targets=(fuzz-wire fuzz-json fuzz-record fuzz-frames fuzz-checkpoint fuzz-open)

# Known bugs in CoopLog that are not fixed yet (docs/FUZZING.md, "Findings"). The targets skip the inputs that
# reach them (each target checks the input for the bug's trigger), so that a run can go on past them; their
# inputs are in Fuzz/Regressions/. When one is fixed, remove it here: the regression inputs then check the fix.
known_bugs=(
    # none open: checkpoint-origin-count and record-kind-byte are fixed (their inputs in Fuzz/Regressions check it)
)

runs=100000
max_time=0
smoke=0
update_corpus=0
make_seeds=0
skip_known=1
targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --max-time) max_time="$2"; shift 2 ;;
    --smoke) smoke=1; runs=2000; [[ $max_time -gt 0 ]] || max_time=25; shift ;;
    --update-corpus) update_corpus=1; shift ;;
    --make-seeds) make_seeds=1; shift ;;
    --no-skip-known) skip_known=0; shift ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    fuzz-*) targets+=("$1"); shift ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 64 ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target '$t' (${all_targets[*]})" >&2; exit 64; }
done

echo "== build (Fuzz/, scratch path .build-fuzz, -sanitize=fuzzer,address)"
build_flags=(
    --package-path Fuzz --scratch-path "$root/.build-fuzz"
    # SwiftPM's --sanitize=fuzzer links libFuzzer's main; -Xswiftc -sanitize=fuzzer,address is what instruments
    # the Swift modules for coverage (the driver keeps only the last -sanitize= it is given) and with ASan.
    --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address
    # Optimized Swift (still with overflow and bounds checks, assertions and testability): 5-10 times the
    # executions per second of -Onone.
    -Xswiftc -O
    -Xswiftc -use-ld=lld
)
build_start=$SECONDS
mkdir -p .fuzz
if ! swift build "${build_flags[@]}" >.fuzz/build.log 2>&1; then
    grep -v '^\[' .fuzz/build.log | tail -40
    echo "fuzz.sh: the build failed (log: .fuzz/build.log)" >&2
    exit 1
fi
grep -E 'warning:|Build complete' .fuzz/build.log || true
bin="$(swift build "${build_flags[@]}" --show-bin-path)"
echo "build: $((SECONDS - build_start)) s"

export SWIFT_BACKTRACE=enable=no   # let libFuzzer handle a trap: it saves the input and prints the stack
# Shallow allocation stacks: the full depth costs a fifth of the executions (unset it to replay with full stacks).
export ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=5}"
export COOP_REPO_ROOT="$root"
if [[ $skip_known -eq 1 ]]; then
    COOP_FUZZ_KNOWN_BUGS="$(IFS=,; echo "${known_bugs[*]}")"
    export COOP_FUZZ_KNOWN_BUGS
    echo "skipping inputs of known bugs: $COOP_FUZZ_KNOWN_BUGS"
fi

max_len() {
    case "$1" in
    fuzz-frames) echo 8192 ;;
    fuzz-open | fuzz-checkpoint) echo 24576 ;;
    *) echo 4096 ;;
    esac
}

if [[ $make_seeds -eq 1 ]]; then
    for t in "${targets[@]}"; do
        seeds="$root/.fuzz/$t/seeds"
        rm -rf "$seeds" && mkdir -p "$seeds" "Fuzz/Corpus/$t"
        COOP_FUZZ_WRITE_SEEDS="$seeds" "$bin/$t"
        # Keep the seeds that add coverage (what is committed already stays).
        "$bin/$t" -merge=1 -max_len="$(max_len "$t")" "Fuzz/Corpus/$t" "$seeds" 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files' || true
        echo "$t: $(ls "Fuzz/Corpus/$t" | wc -l) files in Fuzz/Corpus/$t"
        dictionary="$root/.fuzz/$t/dictionary"
        rm -f "$dictionary"
        COOP_FUZZ_WRITE_DICTIONARY="$dictionary" "$bin/$t"
        if [[ -s "$dictionary" ]]; then mkdir -p Fuzz/Dictionaries && mv "$dictionary" "Fuzz/Dictionaries/$t.dict"; fi
    done
    exit 0
fi

status=0
summary=()
for t in "${targets[@]}"; do
    echo "== $t"
    work="$root/.fuzz/$t"
    crashes="$root/.fuzz/crashes/$t"
    mkdir -p "$work/corpus" "$crashes" "Fuzz/Corpus/$t"
    common=(-max_len="$(max_len "$t")" -timeout=30 -rss_limit_mb=4096 -artifact_prefix="$crashes/" -print_final_stats=1)
    [[ -f "Fuzz/Dictionaries/$t.dict" ]] && common+=(-dict="Fuzz/Dictionaries/$t.dict")
    # A run of fuzz-open leaves allocations of the store's queues and caches behind, so libFuzzer would scan
    # the heap for leaks after every run (six times the run's cost); the other targets keep leak detection.
    [[ "$t" == fuzz-open ]] && common+=(-detect_leaks=0)

    regressions=(Fuzz/Regressions/"$t"/*)
    if [[ -e "${regressions[0]}" ]]; then
        if ! "$bin/$t" "${common[@]}" "${regressions[@]}" >"$work/regressions.log" 2>&1; then
            echo "$t: a regression input fails again (log: $work/regressions.log)"
            grep -E 'Running:|fuzz property|Fatal error|ERROR:' "$work/regressions.log" | tail -5
            status=1
            summary+=("$t: regression failed")
            continue
        fi
        echo "$t: ${#regressions[@]} regression inputs pass"
    fi

    limits=(-runs="$runs")
    [[ $max_time -gt 0 ]] && limits+=(-max_total_time="$max_time")
    log="$work/fuzz.log"
    command=("$bin/$t" "${common[@]}" "${limits[@]}" "$work/corpus" "Fuzz/Corpus/$t")
    echo "${command[*]}" | sed "s|$root/||g"
    start=$SECONDS
    set +e
    "${command[@]}" >"$log" 2>&1
    rc=$?
    set -e
    elapsed=$((SECONDS - start))
    executions="$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || true)"
    if [[ -z "$executions" ]]; then
        executions="$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)"
    fi
    per_second="$(grep -Eo '^stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || true)"
    coverage="$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)"
    # libFuzzer's average is 0 for a run of about a second; compute it from the wall time then.
    if [[ "${per_second:-}" == "0" && -n "${executions:-}" ]]; then
        if [[ $elapsed -gt 0 ]]; then per_second=$((executions / elapsed)); else per_second="over $executions"; fi
    fi
    line="$t: ${executions:-?} executions in ${elapsed} s (${per_second:-?} exec/s), ${coverage:-no coverage line}"
    if [[ $rc -ne 0 ]]; then
        artifact="$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')"
        echo "$t: FAILED (exit $rc; log $log)"
        grep -E 'fuzz property|Fatal error|ERROR: (libFuzzer|AddressSanitizer)|SUMMARY' "$log" | head -5
        if [[ -n "$artifact" ]]; then
            echo "input saved: ${artifact#"$root/"}"
            echo "replay:      SWIFT_BACKTRACE=enable=no ${bin#"$root/"}/$t ${artifact#"$root/"}"
        fi
        status=1
        summary+=("$line — FAILED")
    else
        echo "$line"
        summary+=("$line")
        if [[ $update_corpus -eq 1 ]]; then
            "$bin/$t" -merge=1 -max_len="$(max_len "$t")" "Fuzz/Corpus/$t" "$work/corpus" >"$work/merge.log" 2>&1
            echo "$t: Fuzz/Corpus/$t now has $(ls "Fuzz/Corpus/$t" | wc -l) files"
        fi
    fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
