#pragma once
// Errors as values: every fallible edge (syscalls, ioctls, file parsing)
// returns Result<T>; the CLI turns an Error into one clear message and a
// non-zero exit status.

#include <string>
#include <utility>
#include <variant>

namespace clonescope {

struct Error {
	std::string message;
	int errnum = 0; // errno behind the failure, 0 when there is none
};

// "what: strerror(errnum)"
Error errno_error(const std::string &what, int errnum);

template <typename T>
class [[nodiscard]] Result {
public:
	Result(T value) : v_(std::move(value)) {}
	Result(Error error) : v_(std::move(error)) {}

	bool ok() const { return v_.index() == 0; }
	explicit operator bool() const { return ok(); }
	T &value() { return std::get<0>(v_); }
	const T &value() const { return std::get<0>(v_); }
	T &operator*() { return value(); }
	const T &operator*() const { return value(); }
	T *operator->() { return &value(); }
	const T *operator->() const { return &value(); }
	const Error &error() const { return std::get<1>(v_); }

private:
	std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

} // namespace clonescope
