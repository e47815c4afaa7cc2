"""krakend-tasks: build, check and load KrakenD plugins from Nox sessions and Invoke tasks."""

__version__ = "0.1.0"
