"""`sagefit cost`: what each scaling mode bills for a month of traffic, and what it costs requests.

* :mod:`sagefit.cost.traffic`  -- ``--traffic`` specs and traces -> request arrival times (the public
  names of :mod:`~sagefit.cost.traffic_spec`, :mod:`~sagefit.cost.arrivals` and :mod:`~sagefit.cost.traces`);
* :mod:`sagefit.cost.schedule` -- the profile's scheduled actions -> capacity bounds over the month;
* :mod:`sagefit.cost.settings` -- the assumptions (sagefit/core/assumptions.py) resolved for a plan, with overrides;
* :mod:`sagefit.cost.simulate` -- the month itself, one scaling mode at a time;
* :mod:`sagefit.cost.report`   -- running the modes and printing them (table / JSON);
* :mod:`sagefit.cost.plot`     -- cost against request volume (matplotlib, only with --plot).

Every figure is an estimate; the assumptions it rests on live in sagefit/core/assumptions.py.
"""
