"""The worker's HTTP API (Faust web views): command intake and reads from the tables."""
