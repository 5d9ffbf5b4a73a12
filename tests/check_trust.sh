#!/usr/bin/env bash
# Hostile and careless input through the command line (issue 19): each case must
# end with exit status 1 and exactly one line on stderr starting with
# "shufflec: error: " (containing the expected words), quickly, writing nothing.
#   - a spec's name that is a path (tune would have written /tmp/<name>.json)
#   - /dev/zero, a pipe that never ends and a file over the limit as every kind of input
#   - a full disk while compiling (a file size limit: writes fail as on a full disk)
#   - tuning logs with fields of the wrong type, through compile, tune --resume and --report
#   - runner specs that would reach ssh as options, control characters, empty entries
#   - numbers with trailing text, typos in options, one error prefix
#   - interrupted tunes (SIGINT, SIGTERM) leave no temporary folder behind
#   tests/check_trust.sh SHUFFLEC_BINARY
set -euo pipefail
shufflec=$1
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
export TMPDIR=$tmp/t  # where shufflec's own temporary folders go: checked at the end
mkdir -p "$TMPDIR"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"  # tune's default log goes into the current folder
spec="$src/tests/tiny_shufflenet_v1.json"
failures=0
checked=0

# expect_error WORDS COMMAND...: exit 1, one line "shufflec: error: ...WORDS...", within 60 s (sanitizer builds are slow).
expect_error() {
    local words=$1
    shift
    local rc=0
    timeout 60 "$@" > "$tmp/out" 2> "$tmp/err.all" < /dev/null || rc=$?
    # A sanitizer build's note on Halide's stack switching is not ours.
    grep -v "^==[0-9]*==WARNING: ASan doesn't fully support makecontext/swapcontext" "$tmp/err.all" > "$tmp/err" || true
    checked=$((checked + 1))
    local lines first
    lines=$(wc -l < "$tmp/err")
    first=$(head -n 1 "$tmp/err")
    if [ "$rc" -ne 1 ] || [ "$lines" -ne 1 ] || [[ "$first" != "shufflec: error: "* ]] || [[ "$first" != *"$words"* ]]; then
        echo "FAIL: $* -> exit $rc, $lines line(s): $(head -c 600 "$tmp/err")"
        failures=$((failures + 1))
    fi
}

# 1. Names never become paths.
sed 's/"name": "tiny"/"name": "..\/..\/..\/..\/..\/..\/..\/..\/..\/tmp\/shufflec-trust-x"/' "$spec" > "$tmp/named.json"
grep -q 'tmp/shufflec-trust-x' "$tmp/named.json"
rm -f /tmp/shufflec-trust-x.json
expect_error '$.name: the model name' "$shufflec" info "$tmp/named.json"
expect_error '$.name' "$shufflec" tune "$tmp/named.json" --random-weights 1 --trials 1 --quiet
expect_error '$.name' "$shufflec" compile "$tmp/named.json" --random-weights 1 --print-schedule
[ -e /tmp/shufflec-trust-x.json ] && { echo "FAIL: a spec's name picked the file /tmp/shufflec-trust-x.json"; failures=$((failures + 1)); }

# 2. Bounded reads: devices, endless pipes, files over the limit.
truncate -s 300M "$tmp/huge.json"  # sparse: over the 256 MiB text limit
for input in /dev/zero "$tmp/huge.json"; do
    words="not a regular file"
    [ "$input" = /dev/zero ] || words="larger than 256 MiB"
    expect_error "$words" "$shufflec" info "$input"
    expect_error "$words" "$shufflec" compile "$input" -o "$tmp/never"
    expect_error "$words" "$shufflec" compile "$spec" --random-weights 1 --schedule "$input" -o "$tmp/never"
    expect_error "$words" "$shufflec" compile "$spec" --random-weights 1 --tuning-log "$input" -o "$tmp/never"
    expect_error "$words" "$shufflec" tune --report "$input"
done
expect_error "not a regular file" "$shufflec" compile "$spec" --weights /dev/zero -o "$tmp/never"
expect_error "not a regular file" "$shufflec" import-onnx /dev/zero -o "$tmp/never"
expect_error "not a regular file" "$shufflec" run "$spec" --random-weights 1 --input /dev/zero -o "$tmp/never.npy"
expect_error "larger than 256 MiB" bash -c "yes '{}' | '$shufflec' info /dev/stdin"
[ -e "$tmp/never" ] || [ -e "$tmp/never.npy" ] && { echo "FAIL: a refused input left an output"; failures=$((failures + 1)); }

# 3. A full disk while compiling: LLVM's failed write is one line, the staging folder goes.
for limit in 40 400; do  # KiB: a Halide object / the weights fail to write
    mkdir -p "$tmp/full$limit"
    expect_error "" bash -c "ulimit -f $limit; exec '$shufflec' compile '$spec' --random-weights 1 -o '$tmp/full$limit' --quiet"
    if [ -n "$(ls -A "$tmp/full$limit")" ]; then
        echo "FAIL: a compile that ran out of space left: $(ls -A "$tmp/full$limit")"
        failures=$((failures + 1))
    fi
done

# 5. Tuning logs with fields of the wrong type: a line number and the field, never "internal error".
record='{"format":"shufflec-tune/1","session":1,"trial":1,"workload":"W","status":"ok","target":"x86-64-linux","threads":1,"est_ms":0.5,"config":{}}'
n=0
for bad in 's/"workload":"W"/"workload":12345/' 's/"threads":1/"threads":"1"/' 's/"est_ms":0.5/"est_ms":null/' \
           's/"est_ms":0.5/"est_ms":-1e308/' 's/"trial":1/"trial":1,"trial":"x"/' 's/"config":{}/"config":7/'; do
    n=$((n + 1))
    { echo "$record"; echo "$record" | sed "$bad"; } > "$tmp/log$n.jsonl"
    expect_error "log$n.jsonl:2: " "$shufflec" compile "$spec" --random-weights 1 --target x86-64-linux --tuning-log "$tmp/log$n.jsonl" --print-schedule
    expect_error "log$n.jsonl:2: " "$shufflec" tune "$spec" --random-weights 1 --target x86-64-linux --log "$tmp/log$n.jsonl" --resume --trials 1 -o "$tmp/never.json" --quiet
    expect_error "log$n.jsonl:2: " "$shufflec" tune --report "$tmp/log$n.jsonl"
done

# 6. Runner specs: never options of ssh, no control characters, no empty entries.
for bad in "ssh://-F/tmp/x" "ssh://-oProxyCommand=touch\ $tmp/pwned" "ssh://a|b" "ssh://a&b" $'ssh://a\tb' \
           $'ssh://a\nb' "local," ",," "adb:-s" "ssh://h:99999"; do
    expect_error "--runner" "$shufflec" bench "$spec" --runner "$bad" --quiet
    expect_error "--runner" "$shufflec" tune "$spec" --runner "$bad" --trials 1 --quiet
done
[ -e "$tmp/pwned" ] && { echo "FAIL: a runner spec ran a command"; failures=$((failures + 1)); }
expect_error "one runner" "$shufflec" bench "$spec" --runner local --runner qemu --quiet

# 7. and 8. Numbers, typos, one prefix.
for budget in 10abc 0x10 " 5" 1e3 -1; do
    expect_error "--budget: expected a number" "$shufflec" tune "$spec" --budget "$budget" --quiet
done
expect_error "--threads: expected" "$shufflec" tune "$spec" --threads 1.5 --quiet
expect_error "did you mean '--weights'?" "$shufflec" compile "$spec" --weigths x -o "$tmp/never"
expect_error "compile: missing SPEC" "$shufflec" compile
grep -q "error: shufflec" "$tmp/err" && { echo "FAIL: two prefixes: $(cat "$tmp/err")"; failures=$((failures + 1)); }
"$shufflec" tune "$spec" --runner local --runner local --print-space --target x86-64-linux > /dev/null  # repeatable
"$shufflec" info -- "$spec" > /dev/null  # -- ends the options

# Interrupted tunes leave no folder: SIGINT and SIGTERM in the middle of a run.
for sig in INT TERM; do
    "$shufflec" tune "$spec" --random-weights 1 --target x86-64-linux --trials 200 --log "$tmp/sig.jsonl" \
        -o "$tmp/sig.json" --quiet > /dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1200); do [ -s "$tmp/sig.jsonl" ] && break; sleep 0.1; done  # up to 2 min (sanitizer builds)
    [ -s "$tmp/sig.jsonl" ] || { echo "FAIL: the tune to interrupt measured nothing"; failures=$((failures + 1)); }
    kill -"$sig" "$pid"
    wait "$pid" 2>/dev/null || true
    left=$(ls -A "$TMPDIR")
    if [ -n "$left" ]; then
        echo "FAIL: SIG$sig left temporary folders: $left"
        failures=$((failures + 1))
        rm -rf "${TMPDIR:?}"/*
    fi
    rm -f "$tmp/sig.jsonl"
done
checked=$((checked + 2))

if [ "$failures" -gt 0 ]; then
    echo "$failures of $checked hostile inputs handled wrongly"
    exit 1
fi
echo "ok: $checked hostile inputs: one clear error line each, nothing written, no folder left"
