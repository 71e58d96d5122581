"""The Python tests' runner: check() runs one named check and counts it, expect() fails it with a
message, summary() prints the closing "N passed, N failed" line and returns the exit status."""
import sys
import traceback

RESULTS = [0, 0]


def check(name, fn, *args):
    try:
        fn(*args)
        print("ok    " + name)
        RESULTS[0] += 1
    except Exception as e:  # noqa: BLE001 - any failure is the check's failure
        msg = str(e) or traceback.format_exc().strip().split("\n")[-1]
        print("FAIL  %s: %s" % (name, msg))
        RESULTS[1] += 1
    sys.stdout.flush()


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def summary():
    print("%d passed, %d failed" % tuple(RESULTS))
    return 1 if RESULTS[1] else 0
