#!/usr/bin/env bash
# The tests: every test binary, doctest and example build of the library
# and the demo (the workspace), with every feature on. Tests that need a server (Redis, PostgreSQL) or a browser are
# #[ignore]d with the reason; pass `-- --include-ignored` after starting
# them (`.ci/run` starts them: see scripts/services.sh).
#
#   scripts/test.sh                          # the README's test command
#   scripts/test.sh -- --include-ignored     # with the servers up
#
# The full gate (formatting, clippy, each feature alone, the feature-less
# build, docs, benchmark builds) is scripts/ci.sh; .ci/run adds the
# servers, the browser, a fuzz smoke run and cargo-deny.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace --all-features "$@"
