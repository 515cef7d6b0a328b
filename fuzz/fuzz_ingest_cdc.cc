// libFuzzer target: the cdc reader of vigil::Ingestor (see fuzz_ingest.h for the invariants).
#include "fuzz_ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return vigil::fuzz::fuzz_one(vigil::Format::kCdc, data, size);
}
