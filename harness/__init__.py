"""What the tests and the benchmarks share: a running app, stand-in weights, zips, drawings, attacks.

bench/ and tests/ both start the real app, make the same hostile zips and draw the same digits, so
those tools live here instead of one importing the other.
"""
