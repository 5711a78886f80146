#!/usr/bin/env bash
# Benchmark: import N rows of MDE CSV through the API (default 1,000,000) and print a table.
# Traffic stays on loopback. Usage: scripts/bench-import.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

cargo build --release --locked -q
bin=./target/release/netward

python3 - "$rows" "$work/iocs.csv" <<'PY'
import random, sys
rows, path = int(sys.argv[1]), sys.argv[2]
random.seed(7)
seen = set()
with open(path, "w") as f:
    f.write("IndicatorType,IndicatorValue,ExpirationTime,Action,Severity,Title,Description,"
            "RecommendedActions,RbacGroups,Category,MitreTechniques,GenerateAlert\n")
    while len(seen) < rows:
        r = random.random()
        if r < 0.7:
            v = "%d.%d.%d.%d" % (random.randint(11, 99), random.randint(0, 255), random.randint(0, 255), random.randint(1, 254))
        elif r < 0.9:
            v = "%d.%d.%d.0/24" % (random.choice([o for o in range(100, 161) if o != 127]), random.randint(0, 255), random.randint(0, 255))
        else:
            v = "2001:db8:%x:%x::%x" % (random.randint(0, 65535), random.randint(0, 65535), random.randint(1, 65535))
        if v in seen:
            continue
        seen.add(v)
        f.write(f"IpAddress,{v},,Block,Medium,bench feed,,,,,,false\n")
PY

RUST_LOG=${RUST_LOG:-info} ${PERF:-} "$bin" server --plain-http --data-dir "$work/data" --listen 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/^netward: listening on //p' "$work/server.out")"
token="$(grep '^nwt_' "$work/server.out")"

start=$(date +%s.%N)
NETWARD_SERVER="$url" NETWARD_TOKEN="$token" "$bin" indicator import "$work/iocs.csv" >"$work/import.out" || { head -5 "$work/import.out"; exit 1; }
end=$(date +%s.%N)
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
size_mb=$(du -m "$work/iocs.csv" | cut -f1)
db_mb=$(du -cm "$work/data" | tail -1 | cut -f1)

printf '| %s | %s |\n' "import benchmark" "value" "---" "---"
printf '| %s | %s |\n' "rows" "$rows"
printf '| %s | %s MB |\n' "CSV size" "$size_mb"
printf '| %s | %.1f s |\n' "import wall time (upload, parse, validate, store)" "$(python3 -c "print($end - $start)")"
printf '| %s | %s MB |\n' "server peak RSS" "$((hwm_kb / 1024))"
printf '| %s | %s MB |\n' "data directory after import" "$db_mb"
printf '| %s | %s |\n' "result" "$(head -1 "$work/import.out")"
echo
echo "server log:"
grep -h "Import" "$work/server.err"
