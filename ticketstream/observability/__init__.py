"""Observability shared by every Ticketstream process: serving ``/metrics``, Faust's Prometheus
sensor, and the exporters that watch the pipeline from outside (consumer lag per group, topic
and partition; projection freshness in ClickHouse; Kafka/ClickHouse reachability).

Each service defines its own metrics in ``<pkg>/metrics.py``; this package only helps expose them.
"""
