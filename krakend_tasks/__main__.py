"""`python -m krakend_tasks` is the `krakend-tasks` command."""

from krakend_tasks.cli import main

main()
