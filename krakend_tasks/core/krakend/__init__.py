"""KrakenD's releases and editions, what a KrakenD binary links, its fingerprints, KrakenD run as a
program (its lint too), and krakend.json as a document.
"""
