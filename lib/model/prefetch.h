// Internal: a software prefetch that the compiler keeps.
#pragma once

namespace vigil::detail {

/// Starts loading the cache line holding `p` (`kWrite`: to be written). GCC's pure-const
/// analysis takes __builtin_prefetch for free of side effects, so a void function that only
/// prefetches counts as const and its calls are deleted as dead code (the feature store's
/// bucket and distinct-entry prefetches were, for a while, without anyone noticing); the
/// empty asm statement is a use the compiler must keep.
template <bool kWrite = false>
inline void prefetch(const void* p) noexcept {
  __builtin_prefetch(p, kWrite ? 1 : 0);
  asm volatile("" : : "r"(p));
}

}  // namespace vigil::detail
