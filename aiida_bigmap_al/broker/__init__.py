"""A FINALES2-compatible broker: measurement requests and results between clients of any kind.

A suggestion client posts a request (``POST /requests/``); a tenant (an instrument, a simulation,
a person in the web page, AiiDA) lists the pending requests of its methods, reserves one and posts
its result. Every request and result has a UUID, so the path from suggestion to result can be
traced. The server (``app``, ``routers/``, ``store``, ``db``, ``auth``, ``capabilities``) imports
nothing from AiiDA: the AiiDA side reaches it over HTTP (``client``). Start it with
``bigmap-al broker serve``; the README beside this file says how to register users, capabilities
and tenants.
"""
