// The JSON reader built for simdjson's "icelake" implementation (flags in sources.cmake).
#include "ingest/json_reader.h"
#include "model/cpu.h"
#include "simdjson.h"

#if SIMDJSON_CAN_ALWAYS_RUN_ICELAKE
#define VIGIL_INGEST_ARCH icelake
#define VIGIL_INGEST_ARCH_ENUM JsonArch::kIcelake
#include "ingest/json_reader_impl.h"

namespace vigil::ingest::icelake {
const std::uint64_t kTargetFeatures = detail::kUnitFeatures;
}  // namespace vigil::ingest::icelake
#else
// Built without this arch's flags (e.g. a build that does not apply sources.cmake's per-file
// options): simdjson's builtin would not be icelake, so the unit offers nothing.
namespace vigil::ingest::icelake {
std::unique_ptr<JsonReader> make_reader(const KeyTable&, const IngestLimits&) { return nullptr; }
const std::uint64_t kTargetFeatures = detail::kCpuUnbuilt;
}  // namespace vigil::ingest::icelake
#endif
