#!/usr/bin/env bash
# Benchmark: import N rows through the API (default 1,000,000; MDE CSV, or with `list` the same
# values as a plain list), then at that size time searches (one page each, with the total
# count) and a bulk delete of a tenth of the rows (100,000 at a million) by their values,
# and print a table. Traffic stays on loopback.
# Usage: scripts/bench-import.sh [ROWS] [csv|list]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
format="${2:-csv}"
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

file="$work/iocs.csv"
import_flags=()
if [[ "$format" == list ]]; then
    file="$work/iocs.txt"
    tail -n +2 "$work/iocs.csv" | cut -d, -f2 >"$file"
    import_flags=(--action block --title "bench feed")
fi
start=$(date +%s.%N)
NETWARD_SERVER="$url" NETWARD_TOKEN="$token" "$bin" indicator import "$file" "${import_flags[@]}" >"$work/import.out" || { head -5 "$work/import.out"; exit 1; }
end=$(date +%s.%N)
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")

# One GET, its time and what it answered (the page's size and the count).
timed_get() {
    curl -s -o "$work/page.json" -w '%{time_total}' -H "Authorization: Bearer $token" -G "$url/api/indicators" "$@"
}
page_of() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["value"]), "shown of", d.get("@odata.count", "?"))' "$work/page.json"
}
middle="$(sed -n "$((rows / 2 + 1))p" "$work/iocs.csv" | cut -d, -f2)"
network="$(grep -m1 '/24,' "$work/iocs.csv" | cut -d, -f2)"
inside="${network%.0/24}.77"
searches=()
for query in "value=$middle" "containing=$inside&\$count=true" "\$filter=startswith(indicatorValue,'50.')&\$count=true" "title=feed&\$top=100&\$count=true" "\$count=true&\$top=100"; do
    args=()
    IFS='&' read -ra parts <<<"$query"
    for part in "${parts[@]}"; do args+=(--data-urlencode "$part"); done
    t="$(timed_get "${args[@]}")"
    searches+=("$(printf '| search: %s | %.0f ms (%s) |' "$query" "$(python3 -c "print($t * 1000)")" "$(page_of)")")
done

# A bulk delete of a tenth of the rows by value: a dry run (the count), then the delete.
python3 - "$work/iocs.csv" "$rows" "$work/delete.json" <<'PY'
import json, sys
path, rows, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path) as f:
    next(f)
    values = [line.split(",")[1] for _, line in zip(range(rows // 10), f)]
json.dump({"values": values}, open(out, "w"))
PY
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["dryRun"]=True; json.dump(d, open(sys.argv[2],"w"))' "$work/delete.json" "$work/dry.json"
dry_t="$(curl -s -o "$work/dry.out" -w '%{time_total}' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data-binary "@$work/dry.json" "$url/api/indicators/DeleteByFilter")"
del_t="$(curl -s -o "$work/del.out" -w '%{time_total}' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data-binary "@$work/delete.json" "$url/api/indicators/DeleteByFilter")"
hwm_end_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
size_mb=$(du -m "$file" | cut -f1)
db_mb=$(du -cm "$work/data" | tail -1 | cut -f1)

printf '| %s | %s |\n' "import benchmark" "value" "---" "---"
printf '| %s | %s |\n' "rows" "$rows"
printf '| %s | %s |\n' "format" "$format"
printf '| %s | %s MB |\n' "file size" "$size_mb"
printf '| %s | %.1f s |\n' "import wall time (upload, parse, validate, store)" "$(python3 -c "print($end - $start)")"
printf '| %s | %s MB |\n' "server peak RSS" "$((hwm_kb / 1024))"
printf '| %s | %s MB |\n' "data directory after import" "$db_mb"
printf '| %s | %s |\n' "result" "$(head -1 "$work/import.out")"
printf '%s\n' "${searches[@]}"
printf '| %s | %.2f s (%s) |\n' "bulk delete of $((rows / 10)) by value: dry run" "$dry_t" "$(cat "$work/dry.out")"
printf '| %s | %.2f s (%s) |\n' "bulk delete of $((rows / 10)) by value" "$del_t" "$(cat "$work/del.out")"
printf '| %s | %s MB |\n' "server peak RSS, searches and delete included" "$((hwm_end_kb / 1024))"
echo
echo "server log:"
grep -h "Import" "$work/server.err"
