"""Pure per-channel webhook adapters: verify raw bytes, parse, normalise to ChannelMessageReceived.

No I/O, no clock, no settings: secrets and ``now`` are arguments, so every adapter is unit-testable.
"""
