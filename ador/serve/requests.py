"""The in-memory request set a serving simulation consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.errors import AdorError


@dataclass(frozen=True)
class RequestSet:
    """Requests in arrival order: arrival times (s), prompt and output token counts.

    ``concurrency`` set: a closed loop of that many clients; each sends its next request as
    soon as its previous one completes (request i goes to the next free client in order) and
    ``arrival_s`` is ignored.
    """

    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    concurrency: int | None = None

    def __post_init__(self) -> None:
        arr = np.asarray(self.arrival_s, dtype=np.float64)
        p = np.asarray(self.prompt_tokens, dtype=np.int64)
        o = np.asarray(self.output_tokens, dtype=np.int64)
        object.__setattr__(self, "arrival_s", arr)
        object.__setattr__(self, "prompt_tokens", p)
        object.__setattr__(self, "output_tokens", o)
        if not (arr.shape == p.shape == o.shape) or arr.ndim != 1:
            raise AdorError("arrival_s, prompt_tokens and output_tokens must be 1-D arrays "
                            "of one length", field="requests", value=(arr.shape, p.shape, o.shape))
        if arr.size == 0:
            raise AdorError("a request set needs at least one request", field="requests")
        if np.any(p < 1) or np.any(o < 1):
            raise AdorError("token counts must be >= 1", field="requests",
                            value=int(min(p.min(), o.min())))
        if not np.all(np.isfinite(arr)) or np.any(np.diff(arr) < 0) or arr[0] < 0:
            raise AdorError("arrival times must be finite, >= 0 and non-decreasing",
                            field="arrival_s")
        if self.concurrency is not None and self.concurrency < 1:
            raise AdorError("concurrency must be >= 1", field="concurrency",
                            value=self.concurrency)

    @property
    def n(self) -> int:
        return int(self.arrival_s.shape[0])

    def with_rate(self, rate_per_s: float) -> "RequestSet":
        """The same requests with open-loop arrivals rescaled to a mean rate of
        ``rate_per_s`` (the inter-arrival pattern is kept; max-load sets stay at time 0
        and get evenly spaced arrivals at that rate)."""
        if not (rate_per_s > 0 and np.isfinite(rate_per_s)):
            raise AdorError("rate must be > 0 requests/s", field="rate", value=rate_per_s)
        span = float(self.arrival_s[-1] - self.arrival_s[0])
        if self.n < 2 or span <= 0:
            arr = np.arange(self.n, dtype=np.float64) / rate_per_s
        else:
            target = (self.n - 1) / rate_per_s
            arr = (self.arrival_s - self.arrival_s[0]) * (target / span)
        return RequestSet(arrival_s=arr, prompt_tokens=self.prompt_tokens,
                          output_tokens=self.output_tokens, concurrency=None)

    def take(self, index) -> "RequestSet":
        return RequestSet(arrival_s=self.arrival_s[index], prompt_tokens=self.prompt_tokens[index],
                          output_tokens=self.output_tokens[index], concurrency=self.concurrency)

    @staticmethod
    def fixed(*, n: int, prompt: int, output: int, rate_per_s: float | None = None,
              concurrency: int | None = None) -> "RequestSet":
        """n identical requests, all at time 0 (max load) or evenly spaced at a rate."""
        arr = np.zeros(n) if rate_per_s is None else np.arange(n) / rate_per_s
        return RequestSet(arrival_s=arr, prompt_tokens=np.full(n, prompt),
                          output_tokens=np.full(n, output), concurrency=concurrency)
