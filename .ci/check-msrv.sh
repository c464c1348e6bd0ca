#!/usr/bin/env bash
# The declared rust-version must be at least every normal dependency's rust-version, for the
# lockfile and for a fresh resolution (what `cargo add etcd-pki` gives a downstream crate), so
# that the MSRV cannot go stale. Needs cargo and python3; the fresh resolution needs crates.io.
set -euo pipefail
cd "$(dirname "$0")/.."

check() { # $1: a directory holding the workspace; $2: a label
  (cd "$1" && cargo metadata --format-version 1 --locked) >"$tmp/meta.json"
  (cd "$1" && cargo tree -p etcd-pki -e normal --prefix none --format '{p}' --all-features) |
    awk '{print $1 " " $2}' | sed 's/ v/ /' | sort -u >"$tmp/deps.txt"
  python3 - "$tmp/meta.json" "$tmp/deps.txt" "$2" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
deps = {tuple(l.split()) for l in open(sys.argv[2]) if l.strip()}
label = sys.argv[3]
def v(s): return tuple(int(x) for x in s.split("."))
root = next(p for p in meta["packages"] if p["name"] == "etcd-pki")
declared = root["rust_version"]
worst = []
for p in meta["packages"]:
    if (p["name"], p["version"]) in deps and p["name"] != "etcd-pki" and p.get("rust_version"):
        if v(p["rust_version"]) > v(declared):
            worst.append(f'{p["name"]} {p["version"]} needs {p["rust_version"]}')
if worst:
    print(f"rust-version {declared} is lower than these dependencies' ({label}):\n  " + "\n  ".join(worst))
    sys.exit(1)
top = max((p["rust_version"] for p in meta["packages"] if (p["name"], p["version"]) in deps and p.get("rust_version")), key=v)
print(f"rust-version {declared} >= every normal dependency's ({label}; highest: {top})")
PY
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check . "Cargo.lock"
mkdir "$tmp/fresh"
cp -r Cargo.toml src examples benches tests interop "$tmp/fresh/"
[ -f README.md ] && cp README.md "$tmp/fresh/"
(cd "$tmp/fresh" && cargo generate-lockfile -q)
check "$tmp/fresh" "a fresh resolution"
