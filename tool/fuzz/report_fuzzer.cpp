// libFuzzer entry: a trace file (.cst) through `clonescope report`.
#include <cstddef>
#include <cstdint>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	clonescope::fuzz::run_report_input({reinterpret_cast<const std::byte *>(data), size});
	return 0;
}
