"""The ticket aggregate: state, decide (command → events or error), evolve (event → state)."""

from streams.domain.tickets.decide import decide
from streams.domain.tickets.errors import TicketCommandError
from streams.domain.tickets.evolve import evolve, evolve_all
from streams.domain.tickets.handle import Outcome, handle
from streams.domain.tickets.state import TicketState

__all__ = [
    "Outcome",
    "TicketCommandError",
    "TicketState",
    "decide",
    "evolve",
    "evolve_all",
    "handle",
]
