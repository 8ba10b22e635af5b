"""Retention of raw versions, purges of customers' data, and the maintenance task that applies both.

See docs/retention.md: what is kept, what is deleted, how to purge, what the purge record holds.
"""
