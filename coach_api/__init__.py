"""FastAPI service for the Flutter app: auth, routines, sessions, models, health."""
