"""The policy set in force: the latest ``SlaPoliciesUpdated`` (kept in a global table so every
worker sees it), else the policy file from the settings. Parsed once per version."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from functools import lru_cache

from schemas.topics import SLA_POLICIES_KEY
from streams.domain.sla.policy import PolicySet, load_policies, parse_policies
from streams.sla import metrics
from streams.sla.settings import SlaSettings

KEY = SLA_POLICIES_KEY.encode()


@lru_cache(maxsize=1)
def _file_policies() -> PolicySet:
    policies = load_policies(SlaSettings().sla_policies_path)
    metrics.declare_series(policies)
    return policies


@lru_cache(maxsize=4)
def _parsed(version: int, text: str) -> PolicySet:
    policies = parse_policies(text, version=version, source=f"SlaPoliciesUpdated v{version}")
    metrics.declare_series(policies)
    return policies


def current(table: Mapping[bytes, bytes]) -> PolicySet:
    """The policy set in force, from ``table`` (key ``sla-policies`` → pickled (version, yaml))."""
    raw = table.get(KEY)
    if raw is None:
        return _file_policies()
    version, text = pickle.loads(raw)
    return _parsed(version, text)


def encode(version: int, text: str) -> bytes:
    return pickle.dumps((version, text))
