"""The `cercle` console script. It starts the command line with the cyclic garbage collector paused:
starting allocates many objects that live as long as the process and little garbage, so collections
during the imports only slow it down (`tests/bench/bench_startup.py`). `bot.cli` resumes it, with the
start-up objects set aside, once the application is built."""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    from bot.cli import main as cercle

    cercle()
