"""Channel adapters: inbound webhooks and polling, signature checks, normalisation; outbound senders."""
