"""The small shell around Ticketstream's packages: settings, the command line, the local stack.

The product lives in ``schemas/``, ``streams/``, ``connectors/``, ``projections/`` and
``dashboards/``; this package only wires them to a process and to the machine.
"""

__version__ = "0.1.0"
