#pragma once
// One line per kernel record, as `clonescope record` prints them live.

#include <linux/clonescope.h>

#include <cstdint>
#include <string>

#include "trace/records.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {

// "TIME COMM PID/TGID SYSCALL FLAGS sig=SIG -> CHILD|ERRNO TOTAL", then,
// when the record has phases, an indented line listing them; phases not
// measured are listed as unavailable, never as 0. @t0_ns: time origin.
std::string format_clone_event(const clonescope_clone_event &ev, uint64_t t0_ns);
std::string format_child_start(const clonescope_child_start_event &ev, uint64_t t0_ns);
std::string format_lost(const clonescope_lost_event &ev, uint64_t t0_ns);
std::string format_cow(const clonescope_cow_event &ev, uint64_t t0_ns);
// "TIME LIFE PID/TGID COMM fork->exec D lifetime D zombie D exit N reaped by P";
// what did not happen while traced is "-".
std::string format_lifecycle(const clonescope_lifecycle_event &ev, uint64_t t0_ns);
// A wait status (waitpid's): "exit N" or "killed by SIGNAME".
std::string format_wait_status(int status);
// The line of any record: one of the above, chosen by type.
std::string format_record(const KernelRecord &record, uint64_t t0_ns);
// The user call that made a clone, under the clone's line:
// "             call: fork() by tid 42 at SITE, 12.0us".
std::string format_joined_call(const UserCall &call, const std::string &site);
// A user call no kernel record joined (lost, or untraced):
// "TIME fork() by tid 42 at SITE -> RESULT 12.0us, no kernel record".
std::string format_lone_call(const UserCall &call, const std::string &site, uint64_t t0_ns);
// "copied N reused N", then each other page counter (zero_copied, thp_*,
// hugetlb_*) that is not zero.
std::string format_cow_counts(const clonescope_cow_counts &c);
// @a + @b, field by field.
clonescope_cow_counts add_cow_counts(const clonescope_cow_counts &a,
				     const clonescope_cow_counts &b);

// "N clone records (F failed, R restarted), S child starts, L lost in-stream".
std::string format_tally(const RecordTally &t);

// "12.3us" style duration from ns.
std::string format_duration(uint64_t ns);

} // namespace clonescope
