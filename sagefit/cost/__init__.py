"""`sagefit cost`: what each scaling mode bills for a month of traffic, and what it costs requests.

* :mod:`sagefit.cost.traffic`     -- the public names for ``--traffic`` (gathered from the next three);
* :mod:`sagefit.cost.traffic_spec` -- parsing a ``--traffic`` value;
* :mod:`sagefit.cost.arrivals`    -- the month's calendar and generated arrival times;
* :mod:`sagefit.cost.traces`      -- reading a trace file (and rescaling it for --plot);
* :mod:`sagefit.cost.schedule`    -- the profile's scheduled actions -> capacity bounds over the month;
* :mod:`sagefit.cost.settings`    -- the assumptions (sagefit/core/assumptions.py) and ``plan.spec``'s
  scaling figures, resolved for a plan, with overrides;
* :mod:`sagefit.cost.simulate`    -- the month itself, one scaling mode at a time, in phases:
  :mod:`~sagefit.cost.minutes` (per-minute views of the traffic), :mod:`~sagefit.cost.queueing`
  (arrivals against capacity), :mod:`~sagefit.cost.autoscaling` (scaling decisions),
  :mod:`~sagefit.cost.fleet` (instances and billing), :mod:`~sagefit.cost.outcome` (the figures);
* :mod:`sagefit.cost.report`      -- running the modes and printing them (table / JSON);
* :mod:`sagefit.cost.plot`        -- cost against request volume (matplotlib, only with --plot).

Every figure is an estimate; the assumptions it rests on live in sagefit/core/assumptions.py.
"""
