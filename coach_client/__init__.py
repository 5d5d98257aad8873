"""The coach API from the outside, over HTTP: ``http_client`` (what the Flutter app does,
one method per call) and ``local_server`` (the API started as a child process on
loopback, and its operator commands run against the same data). Never imports
``coach_api``: it talks to the service as a client or runs its command line."""
