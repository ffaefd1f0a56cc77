#!/usr/bin/env bash
# Unpacks Debian's syslog-ng (which conflicts with rsyslog as a package) into a folder, for the tests to run as a real client.
# Usage: scripts/unpack-syslog-ng.sh [DEST]   (default /var/cache/fleetban-test/syslog-ng)
# DEST/usr/sbin/syslog-ng then runs with LD_LIBRARY_PATH and --module-path pointing into DEST
# (test/helpers/syslog-ng.ts). Nothing is installed: `apt-get download` fetches syslog-ng-core and
# the libraries it needs that this machine lacks, `dpkg -x` unpacks them. DEST/.complete marks a
# finished tree, so a second run does nothing.
set -euo pipefail

dest="${1:-/var/cache/fleetban-test/syslog-ng}"
if [ -e "$dest/.complete" ]; then
  exit 0
fi
for tool in apt-get apt-cache dpkg dpkg-query; do
  command -v "$tool" >/dev/null || {
    echo "unpack-syslog-ng: $tool not found: a Debian machine with apt is needed" >&2
    exit 1
  }
done

# syslog-ng-core and, of its dependencies (recursively, first alternative), the libraries not installed.
packages=(syslog-ng-core)
while read -r dep; do
  case "$dep" in
    lib*)
      if ! dpkg-query -W -f='${db:Status-Status}' "$dep" 2>/dev/null | grep -qx installed; then
        packages+=("$dep")
      fi
      ;;
  esac
done < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances --no-pre-depends syslog-ng-core 2>/dev/null |
  sed -n 's/^ *|\{0,1\}Depends: \([^<][^ ]*\)$/\1/p' | sort -u)

mkdir -p "$(dirname "$dest")"
# Beside DEST, so that the finished tree takes its place in one rename.
work="$(mktemp -d "$(dirname "$dest")/.syslog-ng-unpack.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# apt-get download writes into the current folder; as root its sandbox user must be able to write there.
chmod 0777 "$work"
if ! (cd "$work" && apt-get download -qq "${packages[@]}" >/dev/null); then
  echo "unpack-syslog-ng: apt-get download ${packages[*]} failed (run apt-get update first, as root)" >&2
  exit 1
fi
tree="$work/tree"
mkdir -p "$tree"
for deb in "$work"/*.deb; do
  dpkg -x "$deb" "$tree"
done
[ -x "$tree/usr/sbin/syslog-ng" ] || {
  echo "unpack-syslog-ng: no usr/sbin/syslog-ng in syslog-ng-core" >&2
  exit 1
}
dpkg-deb -f "$work"/syslog-ng-core_*.deb Version >"$tree/.complete"
rm -rf "$dest"
mv "$tree" "$dest"
