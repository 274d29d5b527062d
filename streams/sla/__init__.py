"""Faust-side helpers of the SLA engine: the due-time index, the tick producer's records, the
running policy set, SLA metrics, settings and CLI. The rules live in ``streams.domain.sla``;
the agents in ``streams/agents/sla_*.py`` stay thin."""
