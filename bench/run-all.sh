#!/usr/bin/env bash
# Runs every fleetban benchmark against its anchor (rsyslog, fail2ban-regex) in one go; needs root, gcc, rsyslog, rsyslog-relp, systemd-journal-remote, fail2ban, nftables, iproute2.
# Usage: bench/run-all.sh [--quick]   (from anywhere; --quick = 1 run each and smaller loads, for checking the harness)
# Env: FLEETBAN_TOOLS_DIR = folder of gen_authlog.py, udpblast.c, tcpblast.c (default ../shared/tools from the repo root).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--quick" ]]; then
  runs=1; tcp_lines=200000; udp_seconds=3; bans=100000; attackers=200; distinct=200000
else
  runs=3; tcp_lines=1000000; udp_seconds=10; bans=1000000; attackers=1000; distinct=1000000
fi

npx tsc -p . >/dev/null || echo "tsc reported type errors (dist/ is still emitted); continuing" >&2
mkdir -p bench/out

node dist/bench/test-filter.bench.js --runs "$runs"
echo
node dist/bench/access-log.bench.js --runs "$runs"
echo
node dist/bench/distinct-attackers.bench.js --lines "$distinct"
echo
node dist/bench/pipeline-tcp.bench.js --lines "$tcp_lines" --runs "$runs"
echo
node dist/bench/pipeline-udp.bench.js --rate 200000 --seconds "$udp_seconds" --runs "$runs"
echo
node dist/bench/pipeline-relp.bench.js --lines "$tcp_lines" --runs "$runs"
echo
# The journal upload against systemd-journal-remote (package systemd-journal-remote).
node dist/bench/pipeline-journal.bench.js --lines "$((tcp_lines / 5))" --runs "$runs"
echo
node dist/bench/journal-parse.bench.js --lines "$((tcp_lines / 5))" --runs "$((runs + 2))"
echo
# The filled store is kept under bench/out/ (git-ignored) so later runs skip the fill.
node dist/bench/restart.bench.js --bans "$bans" --runs "$runs" --keep "bench/out/restart-store-$bans"
echo
# Agents: a namespace per run on a veth pair, real nft. The 100,000-ban store is kept for reuse.
agent_store=bench/out/agent-store-100000
node dist/bench/agent-latency.bench.js --attackers "$attackers"
echo
node dist/bench/agent-latency.bench.js --attackers "$attackers" --base 100000 --keep "$agent_store"
echo
node dist/bench/agent-sync.bench.js --bans 100000 --runs "$runs" --keep "$agent_store"
echo
node dist/bench/agent-burst.bench.js --base 0 --runs "$runs"
echo
node dist/bench/agent-burst.bench.js --base 100000 --runs "$runs" --keep "$agent_store"
echo
# Shared failure windows: a 6-process Redis Cluster on loopback ports (needs redis-server, redis-tools).
node dist/bench/shared-windows.bench.js --attackers "$((attackers * 10))"
echo
node dist/bench/pipeline-cluster.bench.js --lines "$((tcp_lines * 6 / 10))" --runs "$runs"
echo
node dist/bench/cluster-attackers.bench.js --attackers "$((attackers * 10))" --rate 500
echo
node dist/bench/feeds.bench.js --bans "$bans" --runs "$runs" --keep "bench/out/feeds-store-$bans"
echo
# The dashboard API on a store of $bans active bans (filled once, kept).
node dist/bench/dashboard-bans.bench.js --bans "$bans" --runs "$((runs * 10))" --dir "bench/out/dashboard-store-$bans"
echo
echo "results: bench/out/results/*.json"
