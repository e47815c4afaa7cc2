"""Data shipped with krakend-tasks: the release table, KrakenD's modules and fingerprints, templates."""

from pathlib import Path

DATA = Path(__file__).parent
