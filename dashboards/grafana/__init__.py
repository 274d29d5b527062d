"""Grafana dashboards generated from code (``python -m dashboards.grafana.build``) with Grafana's
foundation SDK; the JSON under ``dashboards/`` is committed and provisioned by docker-compose."""
