"""The token bucket, on a hand-driven clock."""
from __future__ import annotations

from intake.ratelimit import RateLimit, TokenBuckets


def test_bucket_allows_burst_then_refills():
    now = [0.0]
    b = TokenBuckets(RateLimit(capacity=3, per_second=0.5), clock=lambda: now[0])
    assert [b.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = b.take("a")
    assert 1.9 < wait <= 2.0
    assert b.take("b") == 0.0  # another client has its own bucket
    now[0] += 2.0
    assert b.take("a") == 0.0 and b.take("a") > 0


def test_idle_buckets_are_pruned():
    now = [0.0]
    b = TokenBuckets(RateLimit(capacity=2, per_second=1.0), clock=lambda: now[0], max_clients=10)
    for i in range(10):
        b.take(f"c{i}")
    now[0] += 5.0
    b.take("new")
    assert len(b._buckets) <= 2
