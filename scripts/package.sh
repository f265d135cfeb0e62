#!/usr/bin/env bash
# Builds a release of pusher into ./build/:
#   build/pusher-<version>.tar.gz   dist, production node_modules, config, bin, systemd, nginx,
#                                   ecosystem.config.js, package.json
#                                   (tar -xzf ... --strip-components=1 -C /opt/pusher)
#   build/pusher_<version>_<arch>.deb   when dpkg-deb is available: /opt/pusher, the unit, the
#                                   pusher system user, /etc/pusher/production.json as a conffile
# Usage: scripts/package.sh        (run from anywhere; needs node, npm, tar)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VERSION="$(node -p 'require("./package.json").version')"
NAME="pusher-${VERSION}"
BUILD="$ROOT/build"
STAGE="$BUILD/stage/$NAME"

echo "==> building $NAME"
npm ci
npm run build

echo "==> staging $STAGE"
rm -rf "$BUILD/stage" "$BUILD/deb"
mkdir -p "$STAGE"
cp -R dist config bin systemd nginx docs ecosystem.config.js package.json package-lock.json "$STAGE/"
# Tests and benchmarks are compiled into dist/ too; a release carries only the server and client.
rm -rf "$STAGE/dist/test" "$STAGE/dist/bench"
chmod 0755 "$STAGE/bin/pusher.js"
(cd "$STAGE" && npm ci --omit=dev --no-audit --no-fund)

echo "==> tarball"
tar -C "$BUILD/stage" -czf "$BUILD/$NAME.tar.gz" "$NAME"
echo "    $BUILD/$NAME.tar.gz"

if ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "==> dpkg-deb not found: skipping the .deb"
  exit 0
fi

echo "==> .deb"
# Native addons make the package architecture-specific; pure JS is "all".
if find "$STAGE/node_modules" -name '*.node' -type f | grep -q .; then
  ARCH="$(dpkg --print-architecture)"
else
  ARCH="all"
fi
DEB="$BUILD/deb/pusher_${VERSION}_${ARCH}"
mkdir -p "$DEB/DEBIAN" "$DEB/opt" "$DEB/etc/pusher" "$DEB/lib/systemd/system"
cp -R "$STAGE" "$DEB/opt/pusher"
# /etc/pusher/production.json is the one production settings file (a conffile, kept on upgrade);
# the copy in /opt would be read first (config/<NODE_ENV>.json) and silently merge underneath it.
mv "$DEB/opt/pusher/config/production.json" "$DEB/etc/pusher/production.json"
cp systemd/pusher.service "$DEB/lib/systemd/system/pusher.service"

cat > "$DEB/DEBIAN/control" <<CONTROL
Package: pusher
Version: ${VERSION}
Section: net
Priority: optional
Architecture: ${ARCH}
Maintainer: pusher maintainers <root@localhost>
Description: self-hosted real-time push appliance
 Socket.IO delivery with per-channel offsets and recovery, embedded or Redis Sentinel broker.
 Needs Node.js >= 20.19 on the PATH (node); runs under systemd and pm2-runtime.
CONTROL

echo "/etc/pusher/production.json" > "$DEB/DEBIAN/conffiles"

cat > "$DEB/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
  # The service user, created once and kept across upgrades.
  if ! getent passwd pusher >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/pusher --no-create-home --shell /usr/sbin/nologin pusher
  fi
  install -d -o pusher -g pusher -m 0750 /var/lib/pusher /var/log/pusher
  # Settings may hold secrets: readable by the service, not by everyone.
  chgrp pusher /etc/pusher/production.json && chmod 0640 /etc/pusher/production.json
  if [ ! -e /etc/pusher/pusher.env ]; then
    install -o root -g pusher -m 0640 /dev/null /etc/pusher/pusher.env
    cat > /etc/pusher/pusher.env <<'ENV'
# Secrets for pusher (read by systemd: EnvironmentFile). Production refuses to start without them.
#PUSHER_API_KEYS=key-one,key-two
#PUSHER_JWT_SECRET=   # openssl rand -hex 32
#PUSHER_REDIS_PASSWORD=
#PUSHER_REDIS_SENTINEL_PASSWORD=
ENV
  fi
  command -v node >/dev/null || echo "pusher: node (>= 20.19) is not on the PATH; install Node.js before starting" >&2
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable pusher.service
  fi
  echo "pusher: set the secrets in /etc/pusher/pusher.env and edit /etc/pusher/production.json, then"
  echo "  systemctl restart pusher   (its ExecStartPre runs 'pusher config check'; errors: journalctl -u pusher)"
  echo "Not restarted automatically: a restart drains every client of this host."
fi
exit 0
POSTINST

cat > "$DEB/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ "$1" = "remove" ] && [ -d /run/systemd/system ]; then
  systemctl stop pusher.service || true
  systemctl disable pusher.service || true
fi
exit 0
PRERM

cat > "$DEB/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
POSTRM

chmod 0755 "$DEB/DEBIAN/postinst" "$DEB/DEBIAN/prerm" "$DEB/DEBIAN/postrm"
dpkg-deb --root-owner-group --build "$DEB" "$BUILD/pusher_${VERSION}_${ARCH}.deb"
echo "    $BUILD/pusher_${VERSION}_${ARCH}.deb"
