// The JSON reader built for simdjson's "haswell" implementation (flags in sources.cmake).
#include "ingest/json_reader.h"
#include "model/cpu.h"
#include "simdjson.h"

#if SIMDJSON_CAN_ALWAYS_RUN_HASWELL && !SIMDJSON_CAN_ALWAYS_RUN_ICELAKE
#define VIGIL_INGEST_ARCH haswell
#define VIGIL_INGEST_ARCH_ENUM JsonArch::kHaswell
#include "ingest/json_reader_impl.h"

namespace vigil::ingest::haswell {
const std::uint64_t kTargetFeatures = detail::kUnitFeatures;
}  // namespace vigil::ingest::haswell
#else
// Built without this arch's flags (e.g. a build that does not apply sources.cmake's per-file
// options): simdjson's builtin would not be haswell, so the unit offers nothing.
namespace vigil::ingest::haswell {
std::unique_ptr<JsonReader> make_reader(const KeyTable&, const IngestLimits&) { return nullptr; }
const std::uint64_t kTargetFeatures = detail::kCpuUnbuilt;
}  // namespace vigil::ingest::haswell
#endif
