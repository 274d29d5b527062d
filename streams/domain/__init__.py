"""Pure domain logic: ticket lifecycle, SLA clocks, business-hours arithmetic, routing. No I/O, no clock, no Kafka."""
