target_sources(vigil PRIVATE
  lib/engine/engine.cc
  lib/engine/partition.cc
  lib/engine/rollup.cc)
