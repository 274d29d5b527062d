.PHONY: demo test bench up down status lint

# The main job: set up everything and run the demo.
demo:
	scripts/bootstrap.sh
	.venv/bin/ticketstream demo

# The test command (.ci/run calls this).
test:
	scripts/test.sh

bench:
	scripts/bootstrap.sh
	.venv/bin/ticketstream bench

up:
	scripts/bootstrap.sh
	.venv/bin/ticketstream dev up

down:
	.venv/bin/ticketstream dev down

status:
	.venv/bin/ticketstream dev status

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy
