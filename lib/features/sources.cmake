# Sources of lib/features (owned by the features component).
target_sources(vigil PRIVATE
  lib/features/feature_store.cc
  lib/features/snapshot.cc)
