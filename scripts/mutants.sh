#!/usr/bin/env bash
# Mutation testing of the core modules with cargo-mutants (not part of CI:
# a few hundred mutants, each a rebuild and a test run, take hours on two
# cores). Every surviving ("missed") mutant is either killed by a new test
# or explained as equivalent in the issue note.
#
#   scripts/mutants.sh                          # every selection below
#   MUTANTS_SET=lifecycle scripts/mutants.sh    # one selection
#   scripts/mutants.sh -f src/crypto/wire.rs    # extra cargo-mutants arguments
#
# Needs `cargo install --locked cargo-mutants`. Results: mutants.out/
# (missed.txt, caught.txt, timeout.txt, unviable.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo mutants --version >/dev/null 2>&1; then
    cargo install --locked cargo-mutants
fi

# Two selections, each with the test binaries that exercise it (the store,
# browser and CLI suites add minutes per mutant and little signal here):
#
#   MUTANTS_SET=core       the wire format, sealing, the key ring and keys
#                          (src/crypto/), the codec, envelope, schema ids and
#                          migrations (src/codec/), the header parsing
#   MUTANTS_SET=lifecycle  the manager, the session's state machine, the
#                          revocation registry and the adapters' shared
#                          handle, with the lifecycle model in the selection
#   MUTANTS_SET=all        both (the default)
set_name="${MUTANTS_SET:-all}"
files=()
tests=()
case "$set_name" in
core | all)
    files+=('src/crypto/**' 'src/codec/**' 'src/manager/headers.rs')
    tests+=(core vectors hostile hardening schema session)
    ;;&
lifecycle | all)
    files+=('src/manager/**' 'src/session/**' 'src/revocation/**' 'src/handle/**')
    # revocation_shared and hostile: the shared registry's refresh and
    # staleness (src/revocation/shared.rs) and the header caps
    # (src/manager/headers.rs) are tested there.
    tests+=(lifecycle revocation revocation_shared hostile session identity tower axum actix evolution)
    ;;
core) ;;
*)
    echo "MUTANTS_SET is core, lifecycle or all, not $set_name" >&2
    exit 2
    ;;
esac
args=()
for f in "${files[@]}"; do args+=(-f "$f"); done
# The unit tests, and each test binary once (both selections name
# tests/session).
test_args=(--cargo-test-arg=--lib)
for t in $(printf '%s\n' "${tests[@]}" | awk '!seen[$0]++'); do
    test_args+=(--cargo-test-arg=--test --cargo-test-arg="$t")
done

# Dependencies optimised (the C2SP XAES-256-GCM vectors and the proptests
# spend most of each test run in aes, sha3 and postcard) and no debug info
# (faster links): each mutant is then mostly an incremental build of this
# crate at opt-level 0. Changing these rebuilds every dependency once.
cargo_args=(
    # The adapters' tests (tower, axum, actix) need their features.
    --all-features
    --cargo-arg=--config=profile.dev.debug=0
    '--cargo-arg=--config=profile.dev.package."*".opt-level=2'
)

exec cargo mutants --no-shuffle -j 1 --timeout 120 "${args[@]}" "${cargo_args[@]}" "${test_args[@]}" "$@"
