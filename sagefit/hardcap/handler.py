"""Lambda entry point of the hard cost cap (``handler.handler``), subscribed to the stack's alert topic.

Reserved concurrency 1 in the stack, so two deliveries never race; a duplicate delivery finds the cap
already holding and does nothing. An exception fails the invocation: Lambda retries it twice, then
sends the event to the dead-letter queue.
"""

from __future__ import annotations

import os
from typing import Any

try:  # imported as sagefit.hardcap.handler (tests, tooling)
    from . import core
except ImportError:  # a top-level module in the Lambda asset (this directory alone)
    import core  # type: ignore[no-redef]


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    config = core.CapConfig.from_env(os.environ)
    decisions = core.handle_event(event, config)
    return {"decisions": [{"outcome": d.outcome, "reason": d.reason, "actions": d.actions} for d in decisions]}
