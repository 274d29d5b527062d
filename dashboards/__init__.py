"""Grafana dashboards, Prometheus scrape configs and alert rules (with their tests)."""
