#!/usr/bin/env bash
# Builds fleetban_<version>_<arch>.deb from the compiled tree (dist/src, dist/native) with production node_modules.
# Usage: packaging/build-deb.sh [--out DIR]   (default DIR: dist/; run `npm run build` first)
# Works offline: node_modules is copied from the checkout and pruned with the lockfile.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,4s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "build-deb: unknown argument $1" >&2; exit 2 ;;
  esac
done

cd "$repo"
for f in dist/src/bin/fleetban.js dist/native/udp_recv.node node_modules/level/package.json; do
  [ -e "$f" ] || { echo "build-deb: $f missing: run npm ci && npm run build first" >&2; exit 1; }
done
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
case "$arch" in
  amd64) node_arch=x64 ;;
  arm64) node_arch=arm64 ;;
  armhf) node_arch=arm ;;
  *) node_arch=$arch ;;
esac

stage=$(mktemp -d "${TMPDIR:-/tmp}/fleetban-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
lib="$root/usr/lib/fleetban"
doc="$root/usr/share/doc/fleetban"
mkdir -p "$lib" "$root/usr/bin" "$root/etc/fleetban/jails.d" "$root/var/lib/fleetban" \
  "$root/lib/systemd/system" "$root/usr/lib/sysctl.d" "$root/usr/share/man/man5" \
  "$root/usr/share/man/man8" "$doc/examples" "$root/DEBIAN"

# The program: compiled sources without tests or benchmarks, the recvmmsg UDP reader (native
# addon), and the manifest (ESM "type" and the version `fleetban --version` reads from it).
cp -r dist/src "$lib/dist-src.tmp"
mkdir -p "$lib/dist" && mv "$lib/dist-src.tmp" "$lib/dist/src"
install -D -m 0644 dist/native/udp_recv.node "$lib/dist/native/udp_recv.node"
find "$lib/dist" -name '*.map' -delete
chmod 0755 "$lib/dist/src/bin/fleetban.js"
cp package.json package-lock.json "$lib/"

# Production dependencies: a copy of the checkout's node_modules pruned by the lockfile (no
# network), then the prebuilt LevelDB addons of other platforms dropped.
cp -r node_modules "$lib/node_modules"
(cd "$lib" && npm prune --omit=dev --offline --no-audit --no-fund --ignore-scripts >/dev/null)
find "$lib/node_modules" -type d -name prebuilds -prune | while read -r dir; do
  find "$dir" -mindepth 1 -maxdepth 1 -type d ! -name "linux-$node_arch" -exec rm -rf {} +
done
rm -f "$lib/node_modules/.package-lock.json"
find "$lib/node_modules" -mindepth 1 -type d -empty -delete
find "$lib/node_modules" -name '.bin' -type d -prune -exec rm -rf {} +

ln -s ../lib/fleetban/dist/src/bin/fleetban.js "$root/usr/bin/fleetban"

# Configuration (conffiles), units, sysctl, docs.
install -m 0644 packaging/config/fleetban.json "$root/etc/fleetban/fleetban.json"
install -m 0644 config/jails.d/*.json "$root/etc/fleetban/jails.d/"
install -m 0644 packaging/systemd/*.service "$root/lib/systemd/system/"
install -m 0644 packaging/sysctl/60-fleetban.conf "$root/usr/lib/sysctl.d/"
for page in man/*.[0-9]; do
  section=${page##*.}
  gzip -9n -c "$page" >"$root/usr/share/man/man$section/$(basename "$page").gz"
done
install -m 0644 packaging/debian/copyright "$doc/copyright"
cp -r packaging/rsyslog packaging/syslog-ng "$doc/examples/"
install -m 0644 packaging/examples/* "$doc/examples/"
[ -f docs/install.md ] && install -m 0644 docs/install.md "$doc/install.md"

# Control area.
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
(cd "$root" && find etc -type f | sort | sed 's|^|/|') >"$root/DEBIAN/conffiles"
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: fleetban
Version: $version
Architecture: $arch
Maintainer: fleetban developers <fleetban@example.org>
Installed-Size: $installed_size
Depends: nodejs (>= 20), adduser | passwd
Recommends: nftables
Suggests: rsyslog | syslog-ng-core
Section: net
Priority: optional
Description: central fail2ban for a server fleet
 fleetban receives the syslog of every server (UDP, TCP or TLS), applies
 fail2ban-style jails centrally so failures are counted per attacker across
 the whole fleet, keeps bans in a LevelDB store and pushes them to agents
 that enforce them with nftables sets whose elements expire on their own.
 .
 This package holds the server (fleetban.service), the agent
 (fleetban-agent.service), the fleetban command line tool, man pages and
 rsyslog/syslog-ng forwarding examples.
CONTROL

# Files root-owned and world-readable whatever the umask of the build.
find "$root" -path "$root/DEBIAN" -prune -o -type d -exec chmod 0755 {} +
find "$root" -path "$root/DEBIAN" -prune -o -type f ! -perm -u+x -exec chmod 0644 {} +
find "$root" -path "$root/DEBIAN" -prune -o -type f -perm -u+x -exec chmod 0755 {} +

mkdir -p "$out"
deb="$out/fleetban_${version}_${arch}.deb"
dpkg-deb --build --root-owner-group -Zxz -z6 "$root" "$deb" >/dev/null
echo "$deb"
