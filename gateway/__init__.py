"""The CivicGrid gateway: the only door front ends use."""
