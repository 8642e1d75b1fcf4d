"""A per-client token bucket: bursts are allowed, a sustained flood is refused with 429."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RateLimit:
    """``capacity`` requests at once, refilled at ``per_second`` requests per second."""

    capacity: float = 20.0
    per_second: float = 0.5


@dataclass
class TokenBuckets:
    """Buckets keyed by client; idle full buckets are dropped so memory stays bounded."""

    limit: RateLimit
    clock: callable = time.monotonic
    max_clients: int = 100_000
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, client: str) -> float:
        """Spend one token for ``client``; 0 when allowed, else seconds until one is free."""
        now = self.clock()
        tokens, last = self._buckets.get(client, (self.limit.capacity, now))
        tokens = min(self.limit.capacity, tokens + (now - last) * self.limit.per_second)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_clients:
                self._prune(now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1.0 - tokens) / self.limit.per_second if self.limit.per_second > 0 else math.inf

    def _prune(self, now: float) -> None:
        # A bucket that would be full again carries no state worth keeping.
        full_after = self.limit.capacity / self.limit.per_second if self.limit.per_second > 0 else math.inf
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
