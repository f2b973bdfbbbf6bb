#!/usr/bin/env bash
# Supply-chain check with cargo-deny: licenses, bans and sources over the
# `--all-features` tree, offline (the RustSec advisory database is not
# reachable from CI here). The policy is deny.toml.
#
# With network access, check advisories too:
#   cargo deny --all-features check advisories
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deny --version >/dev/null 2>&1; then
    cargo install --locked cargo-deny
fi

# `cargo metadata --offline` needs every package in Cargo.lock, for every
# platform, in the local registry cache; crates.io is reachable, so fetch.
cargo fetch
cargo deny --all-features --offline check licenses bans sources
