# Sources of lib/ingest (owned by the ingest component).
#
# The JSON reader (json_reader_impl.h) is compiled once per instruction set, each unit with its
# own flags, so that simdjson's On-Demand "builtin" implementation is haswell / icelake there;
# json_dispatch.cc (baseline) picks one at run time. The rest stays baseline x86-64.
target_sources(vigil PRIVATE
  lib/ingest/builder.cc
  lib/ingest/csv.cc
  lib/ingest/ingestor.cc
  lib/ingest/json_dispatch.cc
  lib/ingest/json_reader_fallback.cc
  lib/ingest/json_reader_haswell.cc
  lib/ingest/json_reader_icelake.cc
  lib/ingest/values.cc)

set(_vigil_ingest_dir ${CMAKE_CURRENT_LIST_DIR})
# Sets the per-arch flags in the calling directory (source properties are per directory: the
# fuzzers, which compile lib/ingest/*.cc themselves, call this too).
function(vigil_ingest_arch_flags)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    set(_haswell -mavx2 -mbmi -mbmi2 -mlzcnt -mpclmul -mpopcnt)
    set_source_files_properties(${_vigil_ingest_dir}/json_reader_haswell.cc
      PROPERTIES COMPILE_OPTIONS "${_haswell}")
    set_source_files_properties(${_vigil_ingest_dir}/json_reader_icelake.cc
      PROPERTIES COMPILE_OPTIONS
      "${_haswell};-mavx512f;-mavx512dq;-mavx512cd;-mavx512bw;-mavx512vl;-mavx512vbmi;-mavx512vbmi2")
  endif()
endfunction()
vigil_ingest_arch_flags()
