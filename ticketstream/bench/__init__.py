"""``ticketstream bench`` (``make bench``): every benchmark the issues define, one after another
under a file lock, each beside its own baseline, collected into ``bench/results/SUMMARY.md``.

``runner`` runs them (``python -m bench.bench_<name>``, each writing its own JSON); ``summary``
turns their JSON into one table with the machine's details. See bench/results/README.md.
"""
