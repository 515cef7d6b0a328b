# Sources of lib/gen (owned by the gen component): the synthetic stream generator.
target_sources(vigil PRIVATE
  lib/gen/generator.cc
  lib/gen/tables.cc
  lib/gen/writer.cc)
