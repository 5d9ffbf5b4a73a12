"""Named checks for the Python tests: each prints one ok/FAIL line; finish()
exits 1 if any failed (so one run reports every failure, not the first)."""
import sys

_failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        _failures.append(what)


def finish():
    if _failures:
        print(f"{len(_failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")
