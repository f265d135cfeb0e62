#!/usr/bin/env bash
# Builds a release of pusher:
#   OUT/pusher-<version>.tar.gz        pusher-<version>/: dist (no tests, no benchmarks), production
#                                      node_modules, config, bin, systemd, nginx, docs,
#                                      ecosystem.config.js, package.json, package-lock.json
#   OUT/pusher_<version>_<arch>.deb    the same tree as /opt/pusher, /etc/pusher/production.json as
#                                      a conffile, the unit in /lib/systemd/system, enabled,
#                                      /etc/logrotate.d/pusher (a conffile); the
#                                      maintainer scripts are scripts/deb/
#
# Usage: scripts/package.sh [--skip-build] [--out DIR] [--version VERSION]
#   (no option)    release build: npm ci and npm run build in the checkout, artifacts in ./build
#   --skip-build   package the dist/ already built; the checkout's node_modules/ and dist/ are only
#                  read (tests package while other tests run from them)
#   --out DIR      where the artifacts go (default ./build); DIR/stage is scratch space
#   --version V    the release's version instead of package.json's (a rebuild, e.g. 0.1.0+1, or the
#                  newer build an upgrade test installs over the first); written into the release's
#                  package.json too, so both say the same
# Needs node, npm, tar, gzip; dpkg-deb and dpkg for the .deb (skipped without them).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/build"
BUILD=1
VERSION=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --skip-build) BUILD=0 ;;
    --out) OUT="${2:?--out needs a directory}"; shift ;;
    --version) VERSION="${2:?--version needs a version}"; shift ;;
    *) echo "usage: scripts/package.sh [--skip-build] [--out DIR] [--version VERSION]" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$ROOT"

[ -n "$VERSION" ] || VERSION="$(node -p 'require("./package.json").version')"
NAME="pusher-${VERSION}"
SCRATCH="$OUT/stage"
STAGE="$SCRATCH/$NAME"

if [ "$BUILD" = 1 ]; then
  echo "==> building $NAME"
  npm ci --no-audit --no-fund
  npm run build
fi
if [ ! -f dist/src/main.js ] || [ ! -f dist/src/cli/main.js ]; then
  echo "dist/ is not built: run npm run build, or drop --skip-build" >&2
  exit 1
fi

echo "==> staging $STAGE"
rm -rf "$SCRATCH"
mkdir -p "$STAGE"
# Tests and benchmarks are compiled into dist/ too; a release carries only the server and client.
tar -C "$ROOT" --exclude=./dist/test --exclude=./dist/bench -cf - \
  ./dist ./config ./bin ./systemd ./nginx ./docs ./ecosystem.config.js ./package.json ./package-lock.json \
  | tar -C "$STAGE" -xf -
chmod 0755 "$STAGE/bin/pusher.js"
# From the lockfile, not a copy of the checkout's node_modules: what ships is what the lock says.
# --prefer-offline: after the checkout's own npm ci every package is in npm's cache (~5 s here).
(cd "$STAGE" && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error)
# After npm ci, which checks package.json against the lockfile.
(cd "$STAGE" && npm pkg set version="$VERSION")

echo "==> tarball"
TARBALL="$OUT/$NAME.tar.gz"
tar -C "$SCRATCH" --sort=name --owner=0 --group=0 --numeric-owner -czf "$TARBALL" "$NAME"
echo "    $TARBALL"

if ! command -v dpkg-deb >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
  echo "==> dpkg-deb not found: no .deb"
  rm -rf "$SCRATCH"
  exit 0
fi

echo "==> .deb"
# Debian orders "1.0~rc.1" before "1.0"; npm's "1.0-rc.1" would read as revision "rc.1" of 1.0.
DEB_VERSION="${VERSION//-/\~}"
# The build host's architecture: npm ci installs the platform's optional packages for it, and the
# package is only tested there. No production dependency has a native addon today.
ARCH="$(dpkg --print-architecture)"
PKG="$SCRATCH/deb"
mkdir -p "$PKG/DEBIAN" "$PKG/opt" "$PKG/etc/pusher" "$PKG/lib/systemd/system"
mv "$STAGE" "$PKG/opt/pusher"
# /etc/pusher/production.json is the one production settings file (a conffile, kept on upgrade);
# a copy in /opt would be read first (config/<NODE_ENV>.json) and silently merge underneath it.
mv "$PKG/opt/pusher/config/production.json" "$PKG/etc/pusher/production.json"
chmod 0640 "$PKG/etc/pusher/production.json"
cp systemd/pusher.service "$PKG/lib/systemd/system/pusher.service"
install -D -m 0644 systemd/pusher.logrotate "$PKG/etc/logrotate.d/pusher"
install -m 0755 scripts/deb/postinst scripts/deb/prerm scripts/deb/postrm "$PKG/DEBIAN/"
printf '%s\n' /etc/pusher/production.json /etc/logrotate.d/pusher > "$PKG/DEBIAN/conffiles"

# No Depends on nodejs: Debian 12's own nodejs is 18, and Node.js >= 20.19 comes from NodeSource
# (package nodejs), a distribution's newer release, or a tarball in /usr/local: no Depends line
# is satisfiable by all of them. Recommends pulls it where apt can (NodeSource's repository) and
# is skipped where it cannot; the postinst warns when systemd's PATH has no suitable node.
# init-system-helpers (deb-systemd-helper) and passwd (useradd) are essential/required on Debian.
cat > "$PKG/DEBIAN/control" <<CONTROL
Package: pusher
Version: ${DEB_VERSION}
Section: net
Priority: optional
Architecture: ${ARCH}
Maintainer: pusher maintainers <root@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
Recommends: nodejs (>= 20.19)
Description: self-hosted real-time push appliance
 Socket.IO delivery with per-channel offsets and recovery, through an
 embedded broker or Redis Sentinel; runs under systemd and pm2-runtime.
 .
 Needs Node.js >= 20.19 as "node" in /usr/local/bin or /usr/bin (Debian 12's
 own nodejs is too old: use NodeSource's or an official build).
CONTROL

DEB="$OUT/pusher_${DEB_VERSION}_${ARCH}.deb"
# xz level 1: about 2 s and 7 MB here, against 22 s and 5 MB at the default level 6.
dpkg-deb -Zxz -z1 --root-owner-group --build "$PKG" "$DEB" >/dev/null
rm -rf "$SCRATCH"
echo "    $DEB"
