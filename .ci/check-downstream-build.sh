#!/usr/bin/env bash
# Builds a tiny crate that depends on etcd-pki the way a downstream user's debug build does:
# `[profile.dev.package."*"] opt-level = 3` (dependencies optimised, debug assertions on, the
# default 256 codegen units), from a clean target directory, with the default stack (no
# RUST_MIN_STACK). rustc 1.95 overflowed its stack in LLVM compiling etcd-pki this way until
# the Montgomery squaring stopped being inlined into the unrolled Miller-Rabin loops. Then runs
# the binary (one RSA-2048 key). Run from the repository root; exits non-zero on failure.
#
# With --if-needed (as .ci/extra-tests calls it) it first checks whether the workspace's own
# debug build has already compiled etcd-pki exactly so: the root manifest's dev profile gives
# etcd-pki opt-level 3 and leaves codegen-units, debug-assertions and the inlining knobs at
# their defaults, and .ci/prepare builds the examples (and so the library) with
# RUST_MIN_STACK unset. Then the separate clean build would compile the same crate with the
# same settings a second time (3+ minutes of CI), so it is skipped, saying why; any other
# profile runs it.
set -euo pipefail
repo=$(pwd)
test -f "$repo/Cargo.toml" && grep -q '^name = "etcd-pki"' "$repo/Cargo.toml" || {
  echo "run from the etcd-pki repository root" >&2
  exit 2
}
if [ "${1:-}" = "--if-needed" ]; then
  if python3 - "$repo/Cargo.toml" <<'PY'
import sys, tomllib
profile = tomllib.load(open(sys.argv[1], "rb")).get("profile", {}).get("dev", {})
ours = profile.get("package", {}).get("etcd-pki", {})
knobs = {"codegen-units", "debug-assertions", "overflow-checks", "lto", "incremental"}
covered = (
    ours == {"opt-level": 3}
    and not knobs & set(profile)
    and "*" not in profile.get("package", {})
    and "build-override" not in profile
)
sys.exit(0 if covered else 1)
PY
  then
    echo "== downstream build: covered by the workspace debug build (etcd-pki at opt-level 3, default" \
      "codegen units and debug assertions, built by .ci/prepare with the default stack); skipped"
    exit 0
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "downstream-check"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
etcd-pki = { path = "$repo" }
rand = "0.10"

[profile.dev.package."*"]
opt-level = 3
TOML
cat > "$work/src/main.rs" <<'RS'
fn main() {
    let key = etcd_pki::KeyGenerator::new()
        .generate(etcd_pki::KeyAlgorithm::Rsa2048, &mut rand::rng())
        .expect("key generation");
    assert_eq!(key.bits(), 2048);
    println!("downstream build: RSA-{} key generated", key.bits());
}
RS
# The same dependency versions as the repository's lock file.
cp "$repo/Cargo.lock" "$work/Cargo.lock"
unset RUST_MIN_STACK
export CARGO_TARGET_DIR="$work/target"
echo "== downstream debug build with [profile.dev.package.\"*\"] opt-level = 3 (clean target dir)"
cargo build --manifest-path "$work/Cargo.toml"
cargo run --quiet --manifest-path "$work/Cargo.toml"
