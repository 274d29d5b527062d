"""Prometheus: scrape configs (local stack, docker-compose), alert rules and their promtool tests."""
