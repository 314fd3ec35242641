#include "util/result.hpp"

#include <cstring>

namespace clonescope {

Error errno_error(const std::string &what, int errnum)
{
	return Error{what + ": " + std::strerror(errnum), errnum};
}

} // namespace clonescope
