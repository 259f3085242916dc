"""Fault injection through Toxiproxy: the embedded server, a typed client, faults and fixtures.

Importing this package is cheap; the server, client and fault modules are imported by
whoever needs them (``pytest_aistack.chaos.client``, ``.faults``, ``.engine``).
"""
