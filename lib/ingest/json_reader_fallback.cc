// The JSON reader built for simdjson's "fallback" implementation (flags in sources.cmake).
#include "ingest/json_reader.h"
#include "model/cpu.h"
#include "simdjson.h"

#if 1
#define VIGIL_INGEST_ARCH fallback
#define VIGIL_INGEST_ARCH_ENUM JsonArch::kFallback
#include "ingest/json_reader_impl.h"

namespace vigil::ingest::fallback {
const std::uint64_t kTargetFeatures = detail::kUnitFeatures;
}  // namespace vigil::ingest::fallback
#else
// Built without this arch's flags (e.g. a build that does not apply sources.cmake's per-file
// options): simdjson's builtin would not be fallback, so the unit offers nothing.
namespace vigil::ingest::fallback {
std::unique_ptr<JsonReader> make_reader(const KeyTable&, const IngestLimits&) { return nullptr; }
const std::uint64_t kTargetFeatures = detail::kCpuUnbuilt;
}  // namespace vigil::ingest::fallback
#endif
