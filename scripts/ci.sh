#!/usr/bin/env bash
# Every check CI runs, in order. Humans run this too: `scripts/ci.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, all features)"
cargo clippy --all-targets --all-features -- -D warnings

step "cargo test (default features)"
cargo test

step "cargo test (all features)"
cargo test --all-features

step "cargo doc"
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --all-features

step "cargo bench --no-run"
cargo bench --no-run
