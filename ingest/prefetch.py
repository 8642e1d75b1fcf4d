"""Reading the next batch while the current one is validated (readers release the GIL),
and warehouse steps whose reads and writes overlap the work between them."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
K = TypeVar("K")
D = TypeVar("D")
R = TypeVar("R")
_DONE = object()


def prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yield from `items`, producing up to `depth` items ahead in a background thread.

    Exceptions raised by the producer are re-raised in the consumer, in order.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put((item, None))
        except BaseException as exc:  # handed to the consumer, never swallowed
            q.put((None, exc))
            return
        q.put((_DONE, None))

    worker = threading.Thread(target=produce, name="ingest-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = q.get()
            if exc is not None:
                raise exc
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(0.05)


def overlapped(keys: Sequence[K], read: Callable[[K], D], work: Callable[[D], R],
               write: Callable[[int, R], None], *, name: str = "overlapped-io") -> None:
    """`write(i, work(read(keys[i])))` for every key, in order, with the reads and writes
    on one second thread: it reads slice i+1 and writes slice i-1 while this thread works on
    slice i. DuckDB, Polars and NumPy release the GIL, so the two overlap on two cores.

    `read` and `write` run on that thread only and one at a time, in the order above (all
    of slice i's reads and writes before slice i+1's write), so they may share one DuckDB
    connection and its open transaction; nothing runs on it once this returns or raises.
    At most three slices are in memory: the one read ahead, the one worked on, the one
    being written. The first error (of a read, a work or a write) is raised here."""
    io = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    try:
        reading = io.submit(read, keys[0]) if len(keys) else None
        writing = None
        for i in range(len(keys)):
            data = reading.result()
            reading = io.submit(read, keys[i + 1]) if i + 1 < len(keys) else None
            result = work(data)
            del data
            if writing is not None:
                writing.result()  # a failed write stops the work before more is done
            writing = io.submit(write, i, result)
            del result
        if writing is not None:
            writing.result()
    finally:
        io.shutdown(wait=True, cancel_futures=True)
