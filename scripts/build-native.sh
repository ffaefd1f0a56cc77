#!/usr/bin/env bash
# Builds fleetban's native addon (native/udp_recv.c, the recvmmsg UDP reader) into dist/native/.
# Run by `npm run build`; skipped when dist/native is newer than the sources. Without a C
# compiler it warns and leaves the addon out: UDP is then read with Node's dgram, slower.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/dist/native/udp_recv.node"
src="$repo/native"
if [ -f "$out" ] && [ "$out" -nt "$src/udp_recv.c" ] && [ "$out" -nt "$src/binding.gyp" ]; then
  exit 0
fi
gyp=${npm_config_node_gyp:-}
if [ -z "$gyp" ]; then
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
fi
missing=()
for tool in cc make python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ -f "$gyp" ] || missing+=("node-gyp (bundled with npm)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-native: WARNING: not building the recvmmsg UDP reader, missing: ${missing[*]};" \
    "fleetban will read UDP with Node's dgram (about a third of the rate)." \
    "Install g++, make and python3 and run npm run build again." >&2
  exit 0
fi
cd "$src"
node "$gyp" rebuild --silent >/dev/null
mkdir -p "$(dirname "$out")"
cp build/Release/udp_recv.node "$out"
