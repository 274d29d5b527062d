"""Thin Faust agents, one per module (verb-phrase names); ``streams.app`` imports them all."""
