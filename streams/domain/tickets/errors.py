"""Why a ticket command is not allowed: a reason code (small fixed set) and a sentence."""

from __future__ import annotations

REASON_CODES = (
    "unknown_ticket",
    "ticket_exists",
    "ticket_closed",
    "no_assignee",
    "not_solved",
    "cannot_return_to_new",
    "version_conflict",
    "not_higher_tier",
    "merge_into_itself",
    "merge_closed",
    "invalid_score",
    "not_solved_for_csat",
    "invalid_command",
)


class TicketCommandError(Exception):
    """A command the ticket's state forbids. ``reason_code`` is one of ``REASON_CODES``;
    the message says what was found, what is allowed and what to do."""

    def __init__(self, reason_code: str, message: str) -> None:
        assert reason_code in REASON_CODES, reason_code
        self.reason_code = reason_code
        self.message = message
        super().__init__(message)
