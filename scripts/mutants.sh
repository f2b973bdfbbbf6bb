#!/usr/bin/env bash
# Mutation testing of the core modules with cargo-mutants (not part of CI:
# a few hundred mutants, each a rebuild and a test run, take hours on two
# cores). Every surviving ("missed") mutant is either killed by a new test
# or explained as equivalent in the issue note.
#
#   scripts/mutants.sh                  # all core modules
#   scripts/mutants.sh -f src/wire.rs   # extra cargo-mutants arguments
#
# Needs `cargo install --locked cargo-mutants`. Results: mutants.out/
# (missed.txt, caught.txt, timeout.txt, unviable.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo mutants --version >/dev/null 2>&1; then
    cargo install --locked cargo-mutants
fi

# The wire format, sealing, the key ring and keys (src/crypto/), the codec,
# the envelope, schema ids and migrations, cookie syntax (src/codec/), and
# the header parsing (src/manager/headers.rs).
files=('src/crypto/**' 'src/codec/**' 'src/manager/headers.rs')
args=()
for f in "${files[@]}"; do args+=(-f "$f"); done

# The test binaries that exercise these modules; the store, browser, CLI
# and adapter suites add minutes per mutant and little signal here.
tests=(--lib --test core --test vectors --test hostile --test hardening --test schema --test session)
test_args=()
for t in "${tests[@]}"; do test_args+=(--cargo-test-arg="$t"); done

# Dependencies optimised (the C2SP XAES-256-GCM vectors and the proptests
# spend most of each test run in aes, sha3 and postcard) and no debug info
# (faster links): each mutant is then mostly an incremental build of this
# crate at opt-level 0. Changing these rebuilds every dependency once.
cargo_args=(
    --cargo-arg=--config=profile.dev.debug=0
    '--cargo-arg=--config=profile.dev.package."*".opt-level=2'
)

exec cargo mutants --no-shuffle -j 1 --timeout 120 "${args[@]}" "${cargo_args[@]}" "${test_args[@]}" "$@"
