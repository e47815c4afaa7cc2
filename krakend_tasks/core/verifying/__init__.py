"""Verifying a built plugin: KrakenD's check, the preflight, the load test, and KrakenD's log lines
explained.
"""
