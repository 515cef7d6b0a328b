# Sources of lib/ingest (owned by the ingest component).
target_sources(vigil PRIVATE
  lib/ingest/builder.cc
  lib/ingest/csv.cc
  lib/ingest/ingestor.cc
  lib/ingest/json_reader.cc
  lib/ingest/values.cc)
