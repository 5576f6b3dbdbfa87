"""Leaving a CDK app process once its work is done, without Python's interpreter teardown.

A synth of this app holds tens of thousands of objects (aws_cdk's generated modules, jsii's proxies,
the constructs). Python's normal exit deallocates every one of them and clears each module, which
takes about 0.3 s after a synth of every stack: measured on 2 cores with ``bench/synth_profile.py``
and by timing the process against the end of its script (the empty app: 0.07 s). None of it is
work: the cloud assembly is already on disk when ``app.synth()`` returns.

:func:`exit_now` keeps everything a clean exit owes: it runs the ``atexit`` hooks first (jsii's
hook stops its node process with an exit request and waits for it, and jsii removes the
temporary directory it unpacked its runtime into), then flushes stdout and stderr, and only then
ends the process with :func:`os._exit`, which skips the deallocation. Only the process that imports
this module calls it, as its last statement.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import NoReturn


def exit_now(code: int = 0) -> NoReturn:
    """Run the ``atexit`` hooks, flush stdout and stderr, then end the process with ``code``."""
    atexit._run_exitfuncs()  # atexit's own runner: every registered hook, last registered first
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing to write to
            stream.flush()
    os._exit(code)
