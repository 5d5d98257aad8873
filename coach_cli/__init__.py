"""The ``coach`` command line: one sub-command per job, each importing its package lazily."""
