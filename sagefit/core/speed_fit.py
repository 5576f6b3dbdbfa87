"""Fit the speed model's parameters to the calibration rows of the measurement file.

The fit minimises the sum of squared log ratios (predicted / measured) over the rows whose
``split`` is ``calibration``, one term per row, with a damped Gauss-Newton (Levenberg-Marquardt)
search over the logarithms of the thirteen parameters, so every parameter stays positive and a factor
of two off counts the same whether too fast or too slow. numpy only (scipy is not a dependency);
the search is deterministic, so a refit of the same file gives the same numbers.

Run ``python -m sagefit.core.speed_fit`` to print the fitted values in the form ``PARAMS`` in
``sagefit/core/speed_params.py`` takes, or with ``--write`` to replace that block in place.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
from pathlib import Path

import numpy as np

from sagefit.core import speed as S
from sagefit.core.speed_data import Row, data_sha256, load_rows, predict

START = (0.7, 0.5, 5e-3, 1e-4, 1e-2, 0.5, 0.3, 0.2, 5e-5, 2e-5, 5e-5, 1e-6, 1e-13)
"""Starting point: rules of thumb for eta, mu, host step, per sequence, per request, the host-work
multiples of the CUDA-graph, vLLM V1 and TensorRT-LLM engine families, NCCL all-reduce over NVLink,
the engines' own all-reduce over NVLink, NCCL over PCIe, PCIe all-reduce per sequence and dequant
(the order of :data:`sagefit.core.speed.FREE_NAMES`)."""
ITERATIONS = 200


def _params(log_values: np.ndarray, rows: list[Row] | None = None, date: str = "", sha: str = "") -> S.SpeedParams:
    values = {name: float(math.exp(x)) for name, x in zip(S.FREE_NAMES, log_values, strict=True)}
    ids = tuple(r.id for r in rows) if rows is not None else ()
    return S.SpeedParams(**values, fitted_on=date, data_sha256=sha, calibration_rows=ids)


def residuals(log_values: np.ndarray, rows: list[Row]) -> np.ndarray:
    """log(predicted / measured) for every row."""
    params = _params(log_values)
    return np.array([math.log(predict(r, params) / r.value) for r in rows])


def calibration_rows(rows: list[Row] | None = None) -> list[Row]:
    """The rows the fit may use: never a held-out one."""
    return [r for r in (load_rows() if rows is None else rows) if r.split == "calibration"]


def fit(rows: list[Row] | None = None, date: str | None = None) -> S.SpeedParams:
    """Fitted parameters for ``rows`` (default: the calibration rows of the packaged file)."""
    rows = calibration_rows() if rows is None else rows
    if any(r.split != "calibration" for r in rows):
        raise ValueError("the fit takes calibration rows only")
    x = np.log(np.array(START))
    lam = 1e-2
    cost = float(np.sum(residuals(x, rows) ** 2))
    for _ in range(ITERATIONS):
        r = residuals(x, rows)
        jac = np.empty((len(rows), len(x)))
        for j in range(len(x)):
            h = np.zeros_like(x)
            h[j] = 1e-6
            jac[:, j] = (residuals(x + h, rows) - residuals(x - h, rows)) / 2e-6
        grad = jac.T @ r
        hess = jac.T @ jac
        step = np.linalg.solve(hess + lam * np.diag(np.diag(hess) + 1e-12), -grad)
        trial = x + step
        trial_cost = float(np.sum(residuals(trial, rows) ** 2))
        if trial_cost < cost:
            x, lam = trial, lam / 3
            if cost - trial_cost < 1e-12:
                cost = trial_cost
                break
            cost = trial_cost
        else:
            lam *= 4
            if lam > 1e8:
                break
    return _params(x, rows, date or dt.date.today().isoformat(), data_sha256())


def rounded(params: S.SpeedParams, digits: int = 4) -> tuple[float, ...]:
    """The free parameters to ``digits`` significant figures: what ``PARAMS`` stores and tests compare."""
    return tuple(float(f"{v:.{digits}g}") for v in params.free())


def params_block(params: S.SpeedParams) -> str:
    """``params`` as the ``PARAMS = SpeedParams(...)`` block of sagefit/core/speed_params.py."""
    lines = ["PARAMS = SpeedParams("]
    lines += [f"    {name}={value!r}," for name, value in zip(S.FREE_NAMES, rounded(params), strict=True)]
    lines += [f'    fitted_on="{params.fitted_on}",', f'    data_sha256="{params.data_sha256}",']
    lines += ["    calibration_rows=("]
    lines += [f'        "{rid}",' for rid in params.calibration_rows]
    lines += ["    ),", ")"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    block = params_block(fit())
    if "--write" not in args:
        print(block, end="")
        return
    path = Path(S.__file__).with_name("speed_params.py")
    text = path.read_text()
    path.write_text(re.sub(r"^PARAMS = SpeedParams\(.*?^\)\n", lambda _: block, text, flags=re.S | re.M))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
