"""The classroom's own state: the class, its join code and sessions (store), tokens, names, join limits.

Nothing here knows about clusters or requests: the hub and the class routes put these together.
"""
