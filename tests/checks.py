"""Named checks for the Python tests: each prints one ok/FAIL line; finish()
exits 1 if any failed (so one run reports every failure, not the first).
host_has(): what this machine's CPU has, for checks that depend on it."""
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


def host_has(*flags):
    """Whether this machine's CPU lists any of `flags` (/proc/cpuinfo names:
    avx512f, avx512_vnni, avx_vnni ...)."""
    with open("/proc/cpuinfo") as f:
        listed = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    return any(flag in listed for flag in flags)
