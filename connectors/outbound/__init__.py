"""Outbound: deliver AgentReplied through each channel's send API and record MessageDeliveryUpdated."""
