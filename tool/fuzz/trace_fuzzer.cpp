// libFuzzer entry: a trace file (.cst) through the trace parser.
#include <cstddef>
#include <cstdint>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	clonescope::fuzz::run_trace_input({reinterpret_cast<const std::byte *>(data), size});
	return 0;
}
