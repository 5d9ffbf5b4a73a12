#!/usr/bin/env bash
# Runs `shufflec info` on every malformed spec in tests/bad_specs/ and checks that
# each is rejected the way expected.tsv says:
#   - exit status 1 (not 0, not 2/3 or a signal, no timeout),
#   - exactly one line on stderr, starting with "shufflec: error: ",
#   - that line contains the expected substring (taken literally: no escapes);
# then `shufflec compile` on it: the same message, and no output folder written.
# expected.tsv has one line per file: <file name> TAB <substring>. Every .json in
# the folder must be listed, and every listed file must exist.
#
#   tests/check_bad_specs.sh SHUFFLEC_BINARY [BAD_SPECS_DIR]
#
# Prints one line per mismatch and exits 1 if there is any.
set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 SHUFFLEC_BINARY [BAD_SPECS_DIR]" >&2
    exit 2
fi
bin=$1
dir=${2:-$(cd "$(dirname "$0")" && pwd)/bad_specs}
table=$dir/expected.tsv
if [ ! -x "$bin" ]; then
    echo "$0: $bin is not an executable" >&2
    exit 2
fi
if [ ! -f "$table" ]; then
    echo "$0: $table not found" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix="shufflec: error: "
failures=0
checked=0
declare -A listed=()

fail() {
    echo "FAIL $1: $2"
    failures=$((failures + 1))
}

while IFS= read -r line || [ -n "$line" ]; do
    [ -z "$line" ] && continue
    if [[ "$line" != *$'\t'* ]]; then
        fail "expected.tsv" "line without a tab: $line"
        continue
    fi
    file=${line%%$'\t'*}
    want=${line#*$'\t'}
    if [ -n "${listed[$file]+x}" ]; then
        fail "$file" "listed twice in expected.tsv"
        continue
    fi
    listed[$file]=1
    if [ -z "$want" ]; then
        fail "$file" "empty expected substring"
        continue
    fi
    if [ ! -f "$dir/$file" ]; then
        fail "$file" "listed in expected.tsv but missing"
        continue
    fi
    checked=$((checked + 1))
    timeout 30 "$bin" info "$dir/$file" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    err=$(cat "$tmp/err")
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" -eq 124 ]; then
        fail "$file" "timed out after 30 s"
        continue
    elif [ "$rc" -gt 128 ]; then
        fail "$file" "killed by signal $((rc - 128)); stderr: $err"
        continue
    elif [ "$rc" -ne 1 ]; then
        fail "$file" "exit status $rc, expected 1; stderr: $err"
        continue
    fi
    if [ "$lines" -ne 1 ] || [ "$(tail -c 1 "$tmp/err" | od -An -c | tr -d ' ')" != '\n' ]; then
        fail "$file" "expected exactly one line on stderr, got $lines newline(s): $err"
        continue
    fi
    if [[ "$err" != "$prefix"* ]]; then
        fail "$file" "stderr does not start with '$prefix': $err"
        continue
    fi
    if [[ "$err" != *"$want"* ]]; then
        fail "$file" "message lacks '$want': $err"
        continue
    fi
    timeout 60 "$bin" compile "$dir/$file" --random-weights 1 -o "$tmp/compiled" --quiet >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne 1 ] || [ "$(cat "$tmp/err")" != "$err" ]; then
        fail "$file" "compile: exit status $rc, stderr: $(cat "$tmp/err") (info said: $err)"
    elif [ -e "$tmp/compiled" ]; then
        fail "$file" "compile wrote $(ls -A "$tmp/compiled" | head -3 | tr '\n' ' ')"
        rm -rf "$tmp/compiled"
    fi
done <"$table"

for path in "$dir"/*.json; do
    [ -e "$path" ] || continue
    name=$(basename "$path")
    [ -n "${listed[$name]+x}" ] || fail "$name" "not listed in expected.tsv"
done

echo "$checked bad specs checked, $failures failure(s)"
[ "$failures" -eq 0 ]
