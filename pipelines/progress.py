"""A quiet Dagster logger for the CLI: one line per asset, plus warnings and errors."""

import logging
import sys
import time

import dagster as dg


class _ProgressHandler(logging.Handler):
    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.started: dict[str, float] = {}
        self.t0 = time.perf_counter()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        name = step.replace("__", "/")
        elapsed = time.perf_counter() - self.t0
        if event is None:
            if record.levelno >= logging.WARNING:
                self._say(f"  ! {name}: {meta.get('orig_message', record.getMessage())}")
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self.started[step] = time.perf_counter()
            self._say(f"[{elapsed:6.1f}s] {name} …")
        elif kind == "STEP_SUCCESS":
            took = time.perf_counter() - self.started.get(step, time.perf_counter())
            self._say(f"[{elapsed:6.1f}s] {name} done in {took:.1f}s")
        elif kind == "STEP_FAILURE":
            self._say(f"[{elapsed:6.1f}s] {name} FAILED")
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if not data.passed:
                self._say(f"  ! check {data.check_name} on {'/'.join(data.asset_key.path)} did not pass ({data.severity.value})")

    def _say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


@dg.logger(description="One line per asset with timings; warnings and failed checks.")
def progress_logger(init_context) -> logging.Logger:
    logger = logging.Logger("safestar.progress", level=logging.DEBUG)
    logger.addHandler(_ProgressHandler(sys.stderr))
    return logger
