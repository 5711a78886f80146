#!/usr/bin/env bash
# Benchmark: import N rows through the API (default 1,000,000; MDE CSV, or with `list` the same
# values as a plain list), then at that size time searches (one page each, with the total
# count) and a bulk delete of a tenth of the rows (100,000 at a million) by their values,
# and print a table. Each backend gets the same file and the same requests: embedded SQLite
# (a fresh data directory), then PostgreSQL (`--database`, a throwaway cluster on a unix
# socket in the work directory, default settings, as the `postgres` user when root). Traffic
# stays on loopback.
# Usage: scripts/bench-import.sh [ROWS] [csv|list] [BACKENDS, default "sqlite postgres"]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
format="${2:-csv}"
backends="${3:-sqlite postgres}"
work="$(mktemp -d)"
server_pid=""
pg_dir="$work/pg"
pg_bin="$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)"
as_pg=()
pg_user="$(id -un)"
if [[ "$(id -u)" == 0 ]]; then
    as_pg=(runuser -u postgres --)
    pg_user=postgres
fi
cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    if [[ -f "$pg_dir/data/postmaster.pid" ]]; then
        "${as_pg[@]}" "$pg_bin/pg_ctl" -w -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

cargo build --release --locked -q
bin="${CARGO_TARGET_DIR:-./target}/release/netward"

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

# A throwaway PostgreSQL cluster in the work directory, on a unix socket only; its URL.
start_postgres() {
    mkdir -p "$pg_dir"
    if [[ "$(id -u)" == 0 ]]; then
        chmod 711 "$work"
        chown postgres:postgres "$pg_dir"
    fi
    "${as_pg[@]}" "$pg_bin/initdb" -A trust -E UTF8 -U "$pg_user" -D "$pg_dir/data" >"$pg_dir/initdb.log"
    "${as_pg[@]}" "$pg_bin/pg_ctl" -w -D "$pg_dir/data" -l "$pg_dir/server.log" \
        -o "-c listen_addresses='' -k $pg_dir -p 5432 -c max_connections=300" start >/dev/null
    "${as_pg[@]}" "$pg_bin/createdb" -h "$pg_dir" -p 5432 -U "$pg_user" netward
    echo "host=$pg_dir port=5432 user=$pg_user dbname=netward"
}

# The largest peak RSS of PostgreSQL's processes (the backend that stored the import; shared
# buffers it touched included), in MB.
postgres_hwm_mb() {
    local postmaster kb max=0
    postmaster="$(head -1 "$pg_dir/data/postmaster.pid")"
    for pid in "$postmaster" $(ps --ppid "$postmaster" -o pid=); do
        kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        ((kb > max)) && max=$kb
    done
    echo $((max / 1024))
}

file="$work/iocs.csv"
import_flags=()
if [[ "$format" == list ]]; then
    file="$work/iocs.txt"
    tail -n +2 "$work/iocs.csv" | cut -d, -f2 >"$file"
    import_flags=(--action block --title "bench feed")
fi
middle="$(sed -n "$((rows / 2 + 1))p" "$work/iocs.csv" | cut -d, -f2)"
network="$(grep -m1 '/24,' "$work/iocs.csv" | cut -d, -f2)"
inside="${network%.0/24}.77"
queries=("value=$middle" "containing=$inside&\$count=true" "\$filter=startswith(indicatorValue,'50.')&\$count=true" "title=feed&\$top=100&\$count=true" "\$count=true&\$top=100")

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

# Every measure, keyed by "measure/backend".
declare -A got
logs=""

# Runs the whole benchmark against one backend (`sqlite` or `postgres`).
run_backend() {
    local backend="$1" store_flags=(--data-dir "$work/data-$backend")
    if [[ "$backend" == postgres ]]; then
        store_flags+=(--database "$(start_postgres)")
    fi
    RUST_LOG=${RUST_LOG:-info} ${PERF:-} "$bin" server --plain-http "${store_flags[@]}" --listen 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    for _ in $(seq 300); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
    url="$(sed -n 's/^netward: listening on //p' "$work/server.out")"
    token="$(grep '^nwt_' "$work/server.out")"
    [[ -n "$url" ]] || { echo "the $backend server did not start:"; tail -5 "$work/server.err"; return 1; }

    start=$(date +%s.%N)
    NETWARD_SERVER="$url" NETWARD_TOKEN="$token" "$bin" indicator import "$file" "${import_flags[@]}" >"$work/import.out" || { head -5 "$work/import.out"; return 1; }
    end=$(date +%s.%N)
    got[wall/$backend]="$(printf '%.1f s' "$(python3 -c "print($end - $start)")")"
    got[rss/$backend]="$(($(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status") / 1024)) MB"
    got[result/$backend]="$(head -1 "$work/import.out")"
    if [[ "$backend" == postgres ]]; then
        got[pgrss/$backend]="$(postgres_hwm_mb) MB"
        got[size/$backend]="$("${as_pg[@]}" "$pg_bin/psql" -h "$pg_dir" -p 5432 -U "$pg_user" -d netward -Atc "SELECT pg_database_size('netward') / 1048576") MB (database)"
    else
        got[pgrss/$backend]="-"
        got[size/$backend]="$(du -cm "$work/data-$backend" | tail -1 | cut -f1) MB (data directory)"
    fi

    local i=0
    for query in "${queries[@]}"; do
        args=()
        IFS='&' read -ra parts <<<"$query"
        for part in "${parts[@]}"; do args+=(--data-urlencode "$part"); done
        t="$(timed_get "${args[@]}")"
        got[search$i/$backend]="$(printf '%.0f ms (%s)' "$(python3 -c "print($t * 1000)")" "$(page_of)")"
        i=$((i + 1))
    done

    dry_t="$(curl -s -o "$work/dry.out" -w '%{time_total}' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data-binary "@$work/dry.json" "$url/api/indicators/DeleteByFilter")"
    del_t="$(curl -s -o "$work/del.out" -w '%{time_total}' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data-binary "@$work/delete.json" "$url/api/indicators/DeleteByFilter")"
    got[dry/$backend]="$(printf '%.2f s (%s)' "$dry_t" "$(cat "$work/dry.out")")"
    got[delete/$backend]="$(printf '%.2f s (%s)' "$del_t" "$(cat "$work/del.out")")"
    got[rss_end/$backend]="$(($(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status") / 1024)) MB"
    logs+="$backend: $(grep -h "Import" "$work/server.err" | tail -3)"$'\n'
    kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

# One GET, its time and what it answered (the page's size and the count).
timed_get() {
    curl -s -o "$work/page.json" -w '%{time_total}' -H "Authorization: Bearer $token" -G "$url/api/indicators" "$@"
}
page_of() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["value"]), "shown of", d.get("@odata.count", "?"))' "$work/page.json"
}

for backend in $backends; do
    if ! run_backend "$backend"; then
        echo "the $backend run failed" >&2
        [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
        server_pid=""
    fi
done

# One row per measure, one column per backend.
row() {
    local label="$1" key="$2" line="| $1 |"
    for backend in $backends; do line+=" ${got[$key/$backend]:-} |"; done
    echo "$line"
}
header="| import benchmark |"
rule="|---|"
for backend in $backends; do header+=" $backend |"; rule+="---|"; done
echo "$header"
echo "$rule"
echo "| rows, format, file size | $rows, $format, $(du -m "$file" | cut -f1) MB |"
row "import wall time (upload, parse, validate, store)" wall
row "server peak RSS" rss
row "PostgreSQL's largest process, peak RSS" pgrss
row "stored size after import" size
row "result" result
for i in "${!queries[@]}"; do row "search: ${queries[$i]}" "search$i"; done
row "bulk delete of $((rows / 10)) by value: dry run" dry
row "bulk delete of $((rows / 10)) by value" delete
row "server peak RSS, searches and delete included" rss_end
echo
echo "server logs:"
printf '%s' "$logs"
