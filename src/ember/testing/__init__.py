"""Test scaffolding users may reuse: a loopback LLM server, a fake clock, DAG shapes.

- ``LoopbackServer``: an HTTP server on 127.0.0.1 speaking the OpenAI chat
  completions and Anthropic messages formats (plain and streamed), with injectable
  latency, 429s, error statuses, ``Retry-After`` headers, malformed replies and
  servers that never answer, so the real SDK clients can be tested offline.
- ``FakeClock``: a clock whose sleeps advance simulated time at once, for testing
  rate limits without waiting.
- ``ember.testing.shapes``: the standard DAG shapes of compound AI programs (fan-out,
  diamond, ensemble + judge, map-reduce, two-stage, chain) over one op with a chosen
  latency, for benchmarks and ``ember-xcs bench`` (import that module itself).
"""

from ember.testing.clock import FakeClock
from ember.testing.loopback import LoopbackServer, LoopbackStats

__all__ = ["FakeClock", "LoopbackServer", "LoopbackStats"]
