# SPDX-License-Identifier: Apache-2.0
"""The case runner shared by the Python test scripts that drive `tpa`
(tests/cli/test_cli.py, test_cli_tables.py, tests/run/test_run.py):
register cases with @case, fail with expect() or raise Skip, and end with
run_cases(), which prints one line per case and "N passed, N failed"."""
import shutil
import sys
import traceback

CASES = []


class Skip(Exception):
    pass


def case(fn):
    CASES.append(fn)
    return fn


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run_cases(tmp):
    """Run every registered case, remove @p tmp, return the exit status."""
    passed = failed = skipped = 0
    for fn in CASES:
        try:
            fn()
        except Skip as e:
            skipped += 1
            print('skip %s: %s' % (fn.__name__, e))
        except Exception as e:  # noqa: BLE001 (report and continue)
            failed += 1
            print('FAIL %s: %s' % (fn.__name__, e))
            if not isinstance(e, AssertionError):
                traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print('ok   %s' % fn.__name__)
        sys.stdout.flush()
    shutil.rmtree(tmp, ignore_errors=True)
    if skipped:
        print('%d skipped' % skipped)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0
