# Sources of lib/ingest (owned by the ingest component).
