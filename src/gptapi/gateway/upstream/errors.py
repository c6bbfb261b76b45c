"""Why an upstream attempt failed.

UpstreamError
 ├── NoServerAvailable      no healthy server in the pool (503, nothing was sent)
 ├── PoolSaturated          every slot busy past the queue wait (503, nothing was sent)
 │    └── QueueShareExceeded  this organisation already fills its share of the queue (429)
 └── AttemptFailed          this server failed before the first byte; try another
"""

from __future__ import annotations


class UpstreamError(Exception):
    pass


class NoServerAvailable(UpstreamError):
    pass


class PoolSaturated(UpstreamError):
    pass


class QueueShareExceeded(PoolSaturated):
    pass


class AttemptFailed(UpstreamError):
    pass
