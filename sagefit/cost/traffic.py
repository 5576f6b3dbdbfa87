"""Traffic for `sagefit cost`: the public names, gathered from the modules that do the work.

The command line, the benchmark and the tests import ``--traffic`` handling from here, so it stays one
import however the work is divided:

* :mod:`sagefit.cost.traffic_spec` -- parsing a ``--traffic`` value (and the size check);
* :mod:`sagefit.cost.arrivals`     -- the month's calendar and generated arrival times;
* :mod:`sagefit.cost.traces`       -- reading a trace file (and its size cap), and rescaling it for ``--plot``.
"""

from __future__ import annotations

from sagefit.cost.arrivals import HORIZON_S, GeneratedPattern, Traffic, month_start
from sagefit.cost.traces import ISO_YEARS, MAX_REQUESTS, TRACE_LINE_HELP, Trace, read_trace
from sagefit.cost.traffic_spec import KINDS_HELP, TrafficSpec, parse_traffic

__all__ = [
    "HORIZON_S",
    "ISO_YEARS",
    "KINDS_HELP",
    "MAX_REQUESTS",
    "TRACE_LINE_HELP",
    "GeneratedPattern",
    "Trace",
    "Traffic",
    "TrafficSpec",
    "month_start",
    "parse_traffic",
    "read_trace",
]
