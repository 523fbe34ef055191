"""The instrument bridge: how an AiiDA campaign reaches laboratory hardware.

Two halves live here, and only one of them may import AiiDA:

* the **lab side** (no AiiDA, it runs on the PC next to the hardware, which may not have AiiDA):

  - :mod:`.server`: the HELAO-style instrument server (``bigmap-al instrument serve CONFIG``):
    HTTP API -> job queue -> orchestrator -> actions -> serial drivers -> devices, one HDF5 file
    per job. Its HTTP API is documented in :mod:`.server.app`.
  - :mod:`.emulators`: device emulators that stand in for the lab hardware at the other end of a
    real serial link (pty or TCP socket), so everything runs without a rig.

* the **AiiDA side** (transport, scheduler and the experiment CalcJob that talk to the server
  over HTTP).

This ``__init__`` imports nothing, so that ``import aiida_bigmap_al.instrument_bridge.server``
stays free of AiiDA.
"""
