"""ClickHouse: versioned migrations, the projector, rebuild and replay."""
