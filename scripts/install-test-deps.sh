#!/usr/bin/env bash
# Installs the Debian packages that fleetban's test suite drives for real, when they are missing.
set -euo pipefail

# rsyslog (a real syslog client), rsyslog-gnutls (its TLS driver) and rsyslog-relp (omrelp), nftables and iproute2
# (network namespaces), fail2ban (its filters, sample logs and fail2ban-regex), openssl (TLS
# certificates), bsdutils (logger); for the package: mandoc (man page lint), man-db (rendering),
# systemd (systemd-analyze verify), util-linux (unshare, setpriv); systemd-journal-remote
# (systemd-journal-upload, a real host forwarding its journal); redis-server and redis-tools
# (a real Redis Cluster); g++, make and python3 to build
# the UDP reader addon.
need=()
command -v rsyslogd >/dev/null || need+=(rsyslog)
command -v nft >/dev/null || need+=(nftables)
command -v ip >/dev/null || need+=(iproute2)
command -v fail2ban-regex >/dev/null || need+=(fail2ban)
command -v openssl >/dev/null || need+=(openssl)
command -v logger >/dev/null || need+=(bsdutils)
command -v mandoc >/dev/null || need+=(mandoc)
command -v man >/dev/null || need+=(man-db)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v unshare >/dev/null || need+=(util-linux)
# systemd-journal-upload and systemd-journal-remote: a real host forwarding its journal.
[ -x /lib/systemd/systemd-journal-upload ] || need+=(systemd-journal-remote)
# redis-server and redis-cli: a real Redis Cluster for the redis store backend.
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
# chromium: the real browser the dashboard tests drive through playwright-core.
command -v chromium >/dev/null || need+=(chromium)
# The recvmmsg UDP reader is a native addon built by node-gyp.
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
[ -e "/usr/lib/$(uname -m)-linux-gnu/rsyslog/lmnsd_gtls.so" ] || need+=(rsyslog-gnutls)
[ -e "/usr/lib/$(uname -m)-linux-gnu/rsyslog/omrelp.so" ] || need+=(rsyslog-relp)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "fleetban tests need these Debian packages: ${need[*]}" >&2
    echo "run as root (sudo npm run test:all) or: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# syslog-ng conflicts with rsyslog as a package: its .debs are unpacked, not installed, into a
# cache the tests run it from (test/helpers/syslog-ng.ts), once per machine.
if [ ! -e /var/cache/fleetban-test/syslog-ng/.complete ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "fleetban tests need syslog-ng unpacked into /var/cache/fleetban-test/syslog-ng" >&2
    echo "run as root (sudo npm run test:all) or: sudo bash scripts/unpack-syslog-ng.sh" >&2
    exit 1
  fi
  # apt-get download needs the package lists, which a fresh machine may not have yet.
  [ ${#need[@]} -gt 0 ] || apt-get update -qq
  bash "$(dirname "$0")/unpack-syslog-ng.sh" /var/cache/fleetban-test/syslog-ng
fi
# Installing packages may start services; fleetban's tests run their own instances.
if command -v systemctl >/dev/null; then
  systemctl stop rsyslog.service fail2ban.service redis-server.service >/dev/null 2>&1 || true
fi
