"""The Faust application: thin agents, tables and topics around the pure domain in streams.domain."""
