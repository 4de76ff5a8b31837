"""Token buckets kept in the listener's memory: telemetry per device, and the rejected log per topic.

Alarms never pass through here. Times are plain seconds (``time.monotonic()`` in
the listener, any numbers in tests), so the buckets are pure and exactly testable.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    rate: float  # tokens added per second
    burst: float  # most tokens held
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        if self.tokens < 0:  # a new bucket starts full
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = max(self.updated, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class KeyedLimiter:
    """One bucket per key (device id, or topic and reason); idle full buckets are forgotten."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000):
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self.buckets: dict[str, TokenBucket] = {}

    def allow(self, key: str, now: float) -> bool:
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self.forget_idle(now)
            bucket = self.buckets[key] = TokenBucket(self.rate, self.burst)
        return bucket.take(now)

    def forget_idle(self, now: float) -> None:
        """Drop buckets that would be full again anyway: forgetting them changes nothing."""
        refill = self.burst / self.rate if self.rate > 0 else float("inf")
        self.buckets = {k: b for k, b in self.buckets.items() if now - b.updated < refill}


class SuppressingLog:
    """Decides which rejections are written one by one and counts the rest per key.

    ``admit(key, now)`` → (write it?, how many were suppressed since the last written one).
    ``pending()`` hands over the counts not yet attached to a written row, for a periodic flush.
    """

    def __init__(self, rate: float = 1.0, burst: float = 20):
        self.limiter = KeyedLimiter(rate, burst)
        self.suppressed: dict[str, int] = {}

    def admit(self, key: str, now: float) -> tuple[bool, int]:
        if self.limiter.allow(key, now):
            return True, self.suppressed.pop(key, 0)
        self.suppressed[key] = self.suppressed.get(key, 0) + 1
        return False, 0

    def pending(self) -> dict[str, int]:
        counts, self.suppressed = self.suppressed, {}
        return counts
