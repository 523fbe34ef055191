"""The AiiDA side of the measurement broker (the broker server itself imports nothing from AiiDA).

* :mod:`.capability`: the capability of a point measurement (the instrument bridge's request and
  result, as a FINALES2 capability), what both sides below agree on;
* :mod:`.tenant`: AiiDA as a tenant, serving requests with ``SimulationCalcJob`` processes
  (``bigmap-al broker tenant run``);
* :mod:`.scheduler`: the broker as the instrument bridge's second backend, so that an
  ``ExperimentCalcJob`` is answered by whichever tenant serves its method;
* :mod:`.trace`: from a broker result back to the AiiDA process, suggestion and model that asked
  (``bigmap-al broker trace``).
"""
