"""Everything that builds and runs the C firmware: the table of targets, ``bnn-edge run`` / ``flash``
(:mod:`.firmware`), the CIL application (:mod:`.cil_app`) and ``bnn-edge simulate`` (:mod:`.ondevice`).

C is built only through ``make -C firmware`` (the firmware's Makefile and ``cil.mk``); the numpy
model of the firmware lives in :mod:`bnn_edge.sim` and builds nothing.
"""
