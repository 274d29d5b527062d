"""Channel adapters: inbound webhooks and polling (verify, normalise, produce) and outbound senders."""
