#!/usr/bin/env bash
# Runs `shufflec import-onnx` on every malformed or unsupported ONNX model made by
# tools/make_bad_onnx.py and checks each against tests/bad_onnx/expected.tsv:
# exit status 1, exactly one line on stderr starting "shufflec: error: " with the
# expected substring, and no file written into the output folder. An expected
# message of "OK" marks an odd but valid model that must import cleanly.
#   tests/check_bad_onnx.sh SHUFFLEC_BINARY MODELS_DIR
set -uo pipefail
bin=$1
models=$2
table=$(cd "$(dirname "$0")" && pwd)/bad_onnx/expected.tsv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checked=0
while IFS=$'\t' read -r file want; do
    [ -z "$file" ] && continue
    out="$tmp/out-$file"
    mkdir -p "$out"
    timeout 60 "$bin" import-onnx "$models/$file" -o "$out" > "$tmp/stdout" 2> "$tmp/stderr"
    rc=$?
    checked=$((checked + 1))
    lines=$(wc -l < "$tmp/stderr")
    msg=$(cat "$tmp/stderr")
    if [ "$want" = "OK" ]; then  # odd but valid (e.g. invalid UTF-8 in free text): imports, valid JSON spec
        if [ "$rc" -ne 0 ] || ! /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out"/*.json; then
            echo "FAIL $file: expected a clean import, got exit $rc: $msg"; failures=$((failures + 1))
        fi
        continue
    fi
    if [ "$rc" -ne 1 ]; then
        echo "FAIL $file: exit status $rc, expected 1; stderr: $msg"; failures=$((failures + 1)); continue
    fi
    if [ "$lines" -ne 1 ] || [[ "$msg" != "shufflec: error: "* ]]; then
        echo "FAIL $file: expected one 'shufflec: error: ' line, got: $msg"; failures=$((failures + 1)); continue
    fi
    if [[ "$msg" != *"$want"* ]]; then
        echo "FAIL $file: message lacks '$want': $msg"; failures=$((failures + 1)); continue
    fi
    if [ -n "$(ls -A "$out")" ]; then
        echo "FAIL $file: files were written: $(ls -A "$out")"; failures=$((failures + 1)); continue
    fi
done < "$table"
echo "$checked bad ONNX models checked, $failures failure(s)"
[ "$failures" -eq 0 ] && [ "$checked" -gt 0 ]
