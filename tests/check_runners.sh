#!/usr/bin/env bash
# `shufflec bench` and `shufflec profile` end to end, through every runner:
#   local   this machine: latency, GMAC/s, FMA peak; profile --csv/--json/--plot
#   ssh     a real sshd on 127.0.0.1 started here with keys made here (Debian's openssh-server)
#   qemu    the model compiled for arm-64-linux, the benchmark linked statically, run under qemu-aarch64
#   adb     a stand-in `adb` (push/shell on a local folder) for the protocol: no device here
#   tests/check_runners.sh SHUFFLEC_BINARY
set -euo pipefail
shufflec=$1
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
sshd_pid=""
cleanup() { [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
spec="$src/tests/tiny_shufflenet_v1.json"  # 3 stages of 2, 2, 1 units at 40x48: compiles in seconds

# A JSON report must hold these facts (python: Debian's, for json only).
check_report() {  # FILE RUNNER THREADS...
    /usr/bin/python3 - "$@" <<'PY'
import json, sys
path, runner, threads = sys.argv[1], sys.argv[2], [int(t) for t in sys.argv[3:]]
r = json.load(open(path))
assert r["runner"] == runner, r["runner"]
assert r["macs"] > 0
assert [x["threads"] for x in r["results"]] == threads, r["results"]
for x in r["results"]:
    assert 0 < x["min_ms"] <= x["p10_ms"] <= x["median_ms"] <= x["p90_ms"], x
    assert x["gmacs"] > 0
assert [p["threads"] for p in r["peak_gmacs"]] == threads and all(p["gmacs"] > 0 for p in r["peak_gmacs"])
print(f"ok: bench on {runner}: " + ", ".join(f'{x["threads"]} thread(s) {x["median_ms"]:.3f} ms' for x in r["results"]))
PY
}

# local: bench (twice: SPEC, then the folder of a compile), profile.
"$shufflec" bench "$spec" --runs 20 --threads 1,2 --json --quiet > "$tmp/local.json"
check_report "$tmp/local.json" local 1 2
"$shufflec" compile "$spec" --random-weights 3 --name net -o "$tmp/compiled" --quiet
"$shufflec" bench "$tmp/compiled" --runs 10 --threads 1 --json > "$tmp/dir.json"
check_report "$tmp/dir.json" local 1
"$shufflec" bench "$tmp/compiled" --runs 10 | grep -q "% of" || { echo "FAIL: bench prints no share of the peak"; exit 1; }
"$shufflec" profile "$spec" --runs 30 --csv --plot "$tmp/profile.svg" --quiet > "$tmp/profile.csv"
units=$(grep -c '^unit,' "$tmp/profile.csv"); layers=$(grep -c '^layer,' "$tmp/profile.csv")
bars=$(grep -c '<rect x=' "$tmp/profile.svg")
layers_with_macs=$(awk -F, '$1 == "layer" && $6 > 0' "$tmp/profile.csv" | wc -l)
[ "$units" -eq 7 ] || { echo "FAIL: profile lists $units units, want 7 (stem, 5 units, pool+fc)"; exit 1; }
[ "$layers" -ge 15 ] || { echo "FAIL: profile lists only $layers layers"; exit 1; }
# The plot: a bar per unit and per layer with MACs in each of its two panels, value
# axes with ticks, the FMA peak as a line; rendered to PNG as a person would see it.
[ "$bars" -eq $((2 * (7 + layers_with_macs))) ] || { echo "FAIL: the plot has $bars bars, want 2 x (7 + $layers_with_macs)"; exit 1; }
grep -q 'FMA peak [0-9]' "$tmp/profile.svg" || { echo "FAIL: no FMA peak line in the plot"; exit 1; }
[ "$(grep -c 'stroke="#ddd"' "$tmp/profile.svg")" -eq 10 ] || { echo "FAIL: no grid lines (5 per panel)"; exit 1; }
rsvg-convert "$tmp/profile.svg" -o "$tmp/profile.png" || { echo "FAIL: the plot does not render"; exit 1; }
[ -s "$tmp/profile.png" ] || { echo "FAIL: empty PNG"; exit 1; }
grep -q "stage3.0.conv1" "$tmp/profile.csv" || { echo "FAIL: no per-layer row for stage3.0.conv1"; exit 1; }
"$shufflec" profile "$spec" --runs 10 --json --quiet | /usr/bin/python3 -c '
import json, sys
p = json.load(sys.stdin)
assert len(p["units"]) == 7 and p["total_ms"] > 0 and abs(sum(u["share"] for u in p["units"]) - 1) < 1e-6
print("ok: profile: %d units, %d layers, --csv, --json, --plot" % (len(p["units"]), len(p["layers"])))'
# Bad arguments: one clear line each.
for bad in "--runner ftp://x" "--threads 0" "--runs many" "--runner ssh://a:b"; do
    if "$shufflec" bench "$spec" $bad --quiet 2> "$tmp/err" > /dev/null; then echo "FAIL: bench $bad succeeded"; exit 1; fi
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || { echo "FAIL: bench $bad: $(cat "$tmp/err")"; exit 1; }
done
echo "ok: bad runner, thread and run arguments are one-line errors"

# ssh: a real sshd on 127.0.0.1, keys made here, the client configured by $SHUFFLEC_SSH / $SHUFFLEC_SCP.
source "$src/tests/sshd_fixture.sh"
# The folder after the host is absolute (ssh://host/tmp/x is /tmp/x; $tmp starts with /).
"$shufflec" bench "$spec" --runner "ssh://$(id -un)@127.0.0.1:$port$tmp/remote" --runs 10 --threads 1 --json --quiet > "$tmp/ssh.json"
check_report "$tmp/ssh.json" "ssh://$(id -un)@127.0.0.1:$port$tmp/remote" 1
[ -x "$tmp/remote/shufflec-bench-model" ] || { echo "FAIL: nothing arrived in the remote folder $tmp/remote"; exit 1; }
# ~/ after the host is the home folder.
home=$(getent passwd "$(id -un)" | cut -d: -f6)
in_home="shufflec-runner-test-$$"
"$shufflec" bench "$tmp/compiled" --runner "ssh://$(id -un)@127.0.0.1:$port/~/$in_home" --runs 3 --threads 1 --quiet > /dev/null
arrived=0; [ -n "$(ls -A "$home/$in_home" 2>/dev/null)" ] && arrived=1
rm -rf "${home:?}/$in_home"
[ "$arrived" = 1 ] || { echo "FAIL: ssh://host/~/$in_home did not use $home/$in_home"; exit 1; }
echo "ok: ssh folders: /abs is absolute, /~/dir is in the home folder"
# An sshd without the SFTP subsystem (OpenSSH 9's scp uses it): one line with the hint at scp -O.
kill "$sshd_pid"; wait "$sshd_pid" 2>/dev/null || true
sed -i '/^Subsystem/d' "$tmp/ssh/sshd_config"
/usr/sbin/sshd -D -f "$tmp/ssh/sshd_config" -E "$tmp/ssh/sshd.log" &
sshd_pid=$!
for _ in $(seq 50); do $SHUFFLEC_SSH -p "$port" "$(id -un)@127.0.0.1" true 2>/dev/null && break; sleep 0.1; done
if "$shufflec" bench "$tmp/compiled" --runner "ssh://$(id -un)@127.0.0.1:$port$tmp/remote2" --quiet 2> "$tmp/err" > /dev/null; then
    echo "FAIL: scp to an sshd without SFTP succeeded"; exit 1
fi
[ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -qF 'SHUFFLEC_SCP="scp -O"' "$tmp/err" && ! grep -qF '\r' "$tmp/err" \
    || { echo "FAIL: no one-line hint at scp -O: $(cat "$tmp/err")"; exit 1; }
SHUFFLEC_SCP="$SHUFFLEC_SCP -O" "$shufflec" bench "$tmp/compiled" --runner "ssh://$(id -un)@127.0.0.1:$port$tmp/remote2" \
    --runs 3 --threads 1 --quiet > /dev/null
echo "ok: without SFTP: the error says SHUFFLEC_SCP=\"scp -O\", which then works"
kill "$sshd_pid"; sshd_pid=""
if "$shufflec" bench "$tmp/compiled" --runner "ssh://$(id -un)@127.0.0.1:$port" --quiet 2> "$tmp/err" > /dev/null; then
    echo "FAIL: bench through a stopped sshd succeeded"; exit 1
fi
grep -q "ssh://" "$tmp/err" || { echo "FAIL: no runner named in: $(cat "$tmp/err")"; exit 1; }
echo "ok: a stopped sshd is an error naming the runner"

# qemu: an arm-64-linux build, run under qemu-aarch64 (timings meaningless, protocol and report real).
"$shufflec" bench "$spec" --runner qemu --runs 3 --threads 1 --json --quiet > "$tmp/qemu.json"
check_report "$tmp/qemu.json" qemu 1
grep -q '"target": "arm-64-linux"' "$tmp/qemu.json" || { echo "FAIL: the qemu run was not an ARM build"; exit 1; }

# adb: a stand-in adb that maps /data/local/tmp to a local folder (this machine is the "device").
mkdir -p "$tmp/device"
cat > "$tmp/adb" <<ADB
#!/usr/bin/env bash
set -e
[ "\$1" = "-s" ] && { [ "\$2" = "emulator-5554" ] || { echo "no device \$2" >&2; exit 1; }; shift 2; }
map() { echo "\${1//\/data\/local\/tmp/$tmp/device}"; }
case "\$1" in
  push) mkdir -p "\$(dirname "\$(map "\$3")")"; cp "\$2" "\$(map "\$3")";;
  shell) shift; sh -c "\$(map "\$*")";;
  *) echo "fake adb: \$1 unsupported" >&2; exit 1;;
esac
ADB
chmod +x "$tmp/adb"
SHUFFLEC_ADB="$tmp/adb" "$shufflec" bench "$spec" --runner adb:emulator-5554 --runs 5 --threads 1 --json --quiet > "$tmp/adb.json"
check_report "$tmp/adb.json" adb:emulator-5554 1
if SHUFFLEC_ADB="$tmp/adb" "$shufflec" bench "$spec" --runner adb:other --quiet 2> "$tmp/err" > /dev/null; then
    echo "FAIL: an unknown device serial succeeded"; exit 1
fi
echo "ok: adb push/shell protocol, exit status and serial handling"
