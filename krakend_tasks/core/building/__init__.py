"""Building a plugin, exactly as KrakenD's own build compiles what they share."""
