"""Background reading: `prefetch` (items produced ahead) and `overlapped` (a warehouse
step's reads and writes on a second thread, in order)."""
from __future__ import annotations

import threading
import time

import pytest

from ingest.prefetch import overlapped, prefetch


def test_prefetch_yields_everything_in_order_and_reraises():
    assert list(prefetch(iter(range(50)), depth=2)) == list(range(50))

    def broken():
        yield 1
        raise ValueError("bad file")

    items = prefetch(broken())
    assert next(items) == 1
    with pytest.raises(ValueError, match="bad file"):
        next(items)


def _recorder():
    log: list[tuple] = []
    lock = threading.Lock()

    def note(*entry):
        with lock:
            log.append(entry)
    return log, note


def test_overlapped_writes_every_result_in_order_on_one_other_thread():
    log, note = _recorder()
    main = threading.get_ident()
    io_threads = set()

    def read(k):
        io_threads.add(threading.get_ident())
        note("read", k)
        return k * 10

    def work(d):
        assert threading.get_ident() == main
        time.sleep(0.01)  # the next read happens meanwhile
        note("work", d)
        return d + 1

    def write(i, r):
        io_threads.add(threading.get_ident())
        note("write", i, r)

    overlapped([3, 1, 2], read, work, write)
    assert [e for e in log if e[0] == "write"] == [("write", 0, 31), ("write", 1, 11), ("write", 2, 21)]
    assert len(io_threads) == 1 and main not in io_threads
    # Slice i+1 is read before slice i is worked on: the read overlaps the work.
    assert log.index(("read", 1)) < log.index(("work", 30))
    # The connection's users run one at a time, in order: a slice's write after the next read.
    io_order = [e for e in log if e[0] != "work"]
    assert io_order == [("read", 3), ("read", 1), ("write", 0, 31), ("read", 2), ("write", 1, 11), ("write", 2, 21)]


@pytest.mark.parametrize("failing", ["read", "work", "write"])
def test_overlapped_raises_the_first_error_and_leaves_nothing_running(failing):
    log, note = _recorder()

    def step(kind):
        def run(*args):
            if kind == failing and args[-1] in (2, 20, 21):
                raise RuntimeError(f"{kind} failed")
            time.sleep(0.005)
            note(kind, *args)
            return args[-1] * 10 if kind == "read" else args[-1] + 1 if kind == "work" else None
        return run

    with pytest.raises(RuntimeError, match=f"{failing} failed"):
        overlapped([1, 2, 3, 4], step("read"), step("work"), step("write"))
    settled = list(log)
    time.sleep(0.05)
    assert log == settled  # nothing ran on the second thread after the error was raised
    # The failure is in the second slice: it and the slices after it are never written.
    assert all(entry[1] == 0 for entry in log if entry[0] == "write")


def test_overlapped_with_no_keys_does_nothing():
    calls = []
    overlapped([], calls.append, calls.append, lambda i, r: calls.append(r))
    assert calls == []
