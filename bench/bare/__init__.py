"""The bare stack: our plumbing (gunicorn gthread, the gateway's RPC pool, nameko) with no domain logic.

Its figures are the denominators of the suite's ratios (bench/suite.py), so it runs exactly the
gunicorn and nameko settings the platform runs (bench/bare/stack.py takes them from
civicgrid/launcher.py) and differs only in what each request does.
"""
