"""Fit the speed model's parameters to the calibration rows of the measurement file.

The fit minimises the sum of squared log ratios (predicted / measured) over the rows whose
``split`` is ``calibration``, one term per row, with a damped Gauss-Newton (Levenberg-Marquardt)
search over the logarithms of the nine parameters, so every parameter stays positive and a factor
of two off counts the same whether too fast or too slow. numpy only (scipy is not a dependency);
the search is deterministic, so a refit of the same file gives the same numbers.

Run ``python -m sagefit.core.speed_fit`` to print the fitted values in the form ``PARAMS`` in
``sagefit/core/speed.py`` takes.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from sagefit.core import speed as S
from sagefit.core.speed_data import Row, data_sha256, load_rows, predict

START = (0.7, 0.5, 5e-3, 1e-4, 1e-3, 0.2, 5e-5, 1e-6, 1e-13)
"""Starting point: rules of thumb for eta, mu, host step, launch, per sequence, graphs share,
all-reduce, PCIe all-reduce per sequence and dequant."""
ITERATIONS = 200


def _params(log_values: np.ndarray, rows: list[Row] | None = None, date: str = "", sha: str = "") -> S.SpeedParams:
    eta, mu, t_fixed, launch, t_seq, g, ar, pcie, kappa = (float(math.exp(x)) for x in log_values)
    ids = tuple(r.id for r in rows) if rows is not None else ()
    return S.SpeedParams(
        eta, mu, t_fixed, launch, t_seq, g, ar, pcie, kappa, fitted_on=date, data_sha256=sha, calibration_rows=ids
    )


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


def main() -> None:
    params = fit()
    names = (
        "bandwidth_efficiency",
        "compute_efficiency",
        "step_fixed_s",
        "launch_s",
        "per_sequence_s",
        "graphs_scale",
        "allreduce_s",
        "pcie_allreduce_s_per_seq",
        "dequant_s_per_param",
    )
    print("PARAMS = SpeedParams(")
    for name, value in zip(names, rounded(params), strict=True):
        print(f"    {name}={value!r},")
    print(f'    fitted_on="{params.fitted_on}",')
    print(f'    data_sha256="{params.data_sha256}",')
    print("    calibration_rows=(")
    for rid in params.calibration_rows:
        print(f'        "{rid}",')
    print("    ),")
    print(")")


if __name__ == "__main__":
    main()
