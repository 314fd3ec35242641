// libFuzzer entry: one of the preload shim's per-process files (.cstu).
#include <cstddef>
#include <cstdint>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	clonescope::fuzz::run_user_input({reinterpret_cast<const std::byte *>(data), size});
	return 0;
}
