// Shared data for benchmarks: generated Sparkov-schema streams, built once per process.
#pragma once
#include <string>
namespace vigil::bench {}
