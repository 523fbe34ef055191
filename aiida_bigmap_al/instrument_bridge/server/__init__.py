"""The HELAO-style instrument server that runs on the lab PC next to the hardware.

HTTP API (:mod:`.app`, documented there; the token and the body's size are checked on the
headers by :mod:`.gate`; routes in :mod:`.routes`, refusals in :mod:`.errors`, schema in
:mod:`.openapi`) -> job queue and worker (:mod:`.instrument`, job table in :mod:`.jobs`) ->
orchestrator (:mod:`.orchestrator`) -> actions (:mod:`.actions`) -> drivers (:mod:`.drivers`,
pyserial) -> devices, real or emulated (:mod:`..emulators`, started by :mod:`.emulation`). Each
job writes its result file and one HDF5 file (:mod:`.hdf5log`) into its workspace
(:mod:`.workspace`). The rig is described by a YAML file (:mod:`.config`).

Nothing in this package imports AiiDA: a lab PC may not have it. This ``__init__`` imports
nothing, so that ``import aiida_bigmap_al.instrument_bridge.server.drivers`` stays light.
"""
