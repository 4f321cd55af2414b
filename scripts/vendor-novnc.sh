#!/usr/bin/env bash
# Vendors noVNC's browser client (ES modules: core/ and its vendor/pako)
# from the npm package @novnc/novnc at a pinned version, checked against
# the registry's integrity hash, into crates/ecs-api/console/vendor/novnc.
# The web console and the VNC proxy serve it from the binary. Run it again
# to reproduce or to move to another version (change both pins below).
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.7.0
integrity=sha512-ucEJOx4T2avIRCleodk7YobZj5O2Ga2AeLfQ69A/yjG9HHba2+PDgwSkN3FttrmG+70ZGx21sElNFouK13RzyA==
dest=crates/ecs-api/console/vendor/novnc
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@novnc/novnc@$version" >/dev/null)
tarball="$tmp/novnc-novnc-$version.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
[[ $got == "$integrity" ]] || { echo "integrity mismatch: $got" >&2; exit 1; }
tar -xzf "$tarball" -C "$tmp"
rm -rf "$dest"
mkdir -p "$dest/docs"
cp -r "$tmp/package/core" "$tmp/package/vendor" "$tmp/package/LICENSE.txt" "$tmp/package/AUTHORS" "$dest/"
cp "$tmp/package/docs/"LICENSE.* "$dest/docs/"
cat >"$dest/VENDORED.md" <<MD
# noVNC $version (vendored)

From the npm package \`@novnc/novnc@$version\` ($integrity),
unchanged: \`core/\`, \`vendor/pako\`, \`LICENSE.txt\` (MPL-2.0; pako is MIT), \`AUTHORS\`, \`docs/LICENSE.*\`.
Made by \`scripts/vendor-novnc.sh\`; do not edit by hand.
MD
echo "noVNC $version vendored into $dest"
