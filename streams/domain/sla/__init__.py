"""The SLA engine's pure domain: policies and schedules (``policy``), per-ticket SLA clocks
evolved from ticket events (``clock``), and the timers they return as data (fired by the caller's
clock with ``fire_due``). No Kafka, no asyncio, no wall clock."""
