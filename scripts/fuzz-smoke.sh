#!/usr/bin/env bash
# Fuzz smoke run: builds every cargo-fuzz target in fuzz/ once, then runs
# each for FUZZ_SECONDS (default 30). A crash, a timeout (an input slower
# than FUZZ_TIMEOUT_SECONDS, default 10), an out-of-memory or a failed build
# exits non-zero.
#
#   scripts/fuzz-smoke.sh                    # every target, 30 s each
#   FUZZ_SECONDS=5 scripts/fuzz-smoke.sh roundtrip open_value
#
# The committed seeds in fuzz/corpus/<target>/ are read, never written: what
# the fuzzer finds goes to a temporary corpus, removed at the end. A crashing
# input is saved under fuzz/artifacts/<target>/ and printed as base64.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
FUZZ_TIMEOUT_SECONDS="${FUZZ_TIMEOUT_SECONDS:-10}"
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=(open_value load_headers roundtrip mutate_sealed store_pointer xaes_differential schema_readings)
fi

step() { printf '\n==> %s\n' "$*"; }

if ! cargo fuzz --version >/dev/null 2>&1; then
    step "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

# cargo-fuzz needs nightly (-Zsanitizer); without a nightly toolchain, let
# stable accept the unstable flags.
if cargo +nightly --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    echo "no nightly toolchain: using stable with RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

step "${fuzz[*]} build"
"${fuzz[@]}" build

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=()
summary=()
for target in "${targets[@]}"; do
    step "fuzz $target for ${FUZZ_SECONDS}s"
    mkdir -p "$work/$target"
    log="$work/$target.log"
    status=0
    "${fuzz[@]}" run "$target" "$work/$target" "$root/fuzz/corpus/$target" -- \
        -max_total_time="$FUZZ_SECONDS" \
        -timeout="$FUZZ_TIMEOUT_SECONDS" \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::' "$log" || true
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)"
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        summary+=("$target: FAILED (exit $status)")
        tail -n 80 "$log"
        for artifact in "$root/fuzz/artifacts/$target"/*; do
            [ -f "$artifact" ] || continue
            echo "artifact $artifact (base64):"
            base64 -w0 "$artifact"
            echo
        done
    else
        summary+=("$target: ok, ${execs:-?} execs, ${cov:-no coverage line}")
    fi
done

step "summary"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz smoke failed: ${failed[*]}" >&2
    echo "reproduce: cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>" >&2
    exit 1
fi
