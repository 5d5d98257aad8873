"""Apache Beam pipelines: simulated clips -> training shards, and clip generation at scale.

Run locally on the DirectRunner (default) or on Google Cloud Dataflow with the usual
runner flags; see ``coach dataflow build-shards --help``.
"""
