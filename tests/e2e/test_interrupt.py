"""Ctrl-C during a synth: one line and exit 130, not a jsii traceback (the terminal sends SIGINT to the
whole foreground process group: app.py and jsii's node kernel together)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from sagefit.cdk_cli import node_env
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("delay_s", [0.3, 1.5])
def test_ctrl_c_during_a_synth_is_one_line(tmp_path, delay_s):
    python = REPO_ROOT / ".venv" / "bin" / "python"
    env = {**node_env(os.environ, REPO_ROOT), "CDK_OUTDIR": str(tmp_path)}
    app = subprocess.Popen(
        [str(python), "app.py"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(delay_s)  # while aws_cdk loads (0.3 s) or the stacks are built (1.5 s)
    os.killpg(app.pid, signal.SIGINT)
    out, err = app.communicate(timeout=60)
    assert app.returncode == 130, err
    assert err.splitlines() == ["sagefit: interrupted; nothing was synthesized"]
    assert out == ""
