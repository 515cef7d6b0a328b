# Sources of lib/score (owned by the score component).
#
# The evaluator kernel (eval_impl.h) is compiled once per instruction set, each translation
# unit with its own flags; the rest of the library stays baseline x86-64. -ffp-contract=off
# keeps every arch (and the scalar reference) computing the same IEEE operations, so decisions
# are bit-identical whatever the CPU.
target_sources(vigil PRIVATE
  lib/score/parser.cc
  lib/score/compiler.cc
  lib/score/dispatch.cc
  lib/score/flags.cc
  lib/score/scorer.cc
  lib/score/eval_scalar.cc)

set(_vigil_score_dir ${CMAKE_CURRENT_LIST_DIR})
set_source_files_properties(
  ${_vigil_score_dir}/compiler.cc ${_vigil_score_dir}/scorer.cc
  PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")
# The scalar path is the benchmarks' baseline: keep the compiler from vectorizing it.
set_source_files_properties(${_vigil_score_dir}/eval_scalar.cc
  PROPERTIES COMPILE_OPTIONS "-ffp-contract=off;-fno-tree-vectorize")

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  include(CheckCXXCompilerFlag)
  check_cxx_compiler_flag("-mavx512f" VIGIL_COMPILER_HAS_AVX512F)
  target_sources(vigil PRIVATE lib/score/eval_sse42.cc lib/score/eval_avx2.cc)
  set_source_files_properties(${_vigil_score_dir}/eval_sse42.cc
    PROPERTIES COMPILE_OPTIONS "-msse4.2;-ffp-contract=off")
  set_source_files_properties(${_vigil_score_dir}/eval_avx2.cc
    PROPERTIES COMPILE_OPTIONS "-mavx2;-ffp-contract=off")
  if(VIGIL_COMPILER_HAS_AVX512F)
    target_sources(vigil PRIVATE lib/score/eval_avx512.cc)
    set_source_files_properties(${_vigil_score_dir}/eval_avx512.cc
      PROPERTIES COMPILE_OPTIONS "-mavx512f;-mavx512dq;-mavx512bw;-mavx512vl;-mavx512cd;-ffp-contract=off")
    set_source_files_properties(${_vigil_score_dir}/dispatch.cc
      PROPERTIES COMPILE_DEFINITIONS "VIGIL_SCORE_HAVE_AVX512=1")
  endif()
endif()
