#!/usr/bin/env bash
# The full gate, in order: formatting, clippy, each feature alone, the
# feature-less build's tests, the default build's tests, the README's test
# command (scripts/test.sh: every feature), docs and benchmark builds, and
# one quick round of the HTTP bench against the peers.
# Humans run this too: `scripts/ci.sh` (.ci/run calls it after starting the
# servers and adds the browser, fuzz smoke and cargo-deny).
#
# Tests that need a server or a browser are #[ignore]d with the reason; set
# CI_INCLUDE_IGNORED=1 after starting them (`.ci/run` does: see
# scripts/services.sh) to run those as well.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (the library and the demo, all targets, all features)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo clippy (no features, and each feature alone, warnings denied)"
cargo clippy --quiet --no-default-features -- -D warnings
for feature in $(sed -n '/^\[features\]/,/^\[/p' Cargo.toml | grep -oE '^[a-z][a-z0-9-]*' | grep -v '^default$'); do
    echo "  --features $feature"
    cargo clippy --quiet --no-default-features --features "$feature" -- -D warnings
done

step "cargo test (no features: the crate without its default memory store)"
cargo test --no-default-features --lib --tests

step "cargo test (default features)"
cargo test

if [ "${CI_INCLUDE_IGNORED:-0}" = 1 ]; then
    step "scripts/test.sh (all features, including ignored: servers and browser)"
    scripts/test.sh -- --include-ignored
else
    step "scripts/test.sh (all features; ignored tests need CI_INCLUDE_IGNORED=1 and servers)"
    scripts/test.sh
fi

step "the lifecycle model, 10 000 cases"
MODEL_CASES=10000 cargo test --all-features --test lifecycle model

step "cargo doc"
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --all-features

step "cargo doc as docs.rs builds it (nightly, --cfg docsrs)"
# docs.rs builds with nightly, every feature and `--cfg docsrs` (feature
# badges); without a nightly toolchain, stable accepts the unstable flags.
if cargo +nightly --version >/dev/null 2>&1; then
    RUSTDOCFLAGS="--cfg docsrs -Dwarnings" cargo +nightly doc --no-deps --all-features \
        --target-dir target/docsrs
else
    RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="--cfg docsrs -Dwarnings" cargo doc --no-deps --all-features \
        --target-dir target/docsrs
fi

step "cargo bench --no-run"
cargo bench --all-features --no-run

step "the HTTP bench against the peers (benches/http, a workspace of its own): lints, and one quick round in which every row checks itself"
cargo fmt --manifest-path benches/http/Cargo.toml --check
cargo clippy --manifest-path benches/http/Cargo.toml --release -- -D warnings
cargo run --release --manifest-path benches/http/Cargo.toml -- --quick
