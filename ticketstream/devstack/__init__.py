"""The local stack (Kafka, ClickHouse, Prometheus without Docker) and its installers."""

from ticketstream.devstack.install import InstallError, ensure_apt_packages
from ticketstream.devstack.stack import ServiceStatus, Stack, StackError

__all__ = ["InstallError", "ServiceStatus", "Stack", "StackError", "ensure_apt_packages"]
