"""Running the gateway on this machine: the staged config and the real KrakenD, the specs and their
judge, and the smoke run, the development loop and the bench over them.
"""
