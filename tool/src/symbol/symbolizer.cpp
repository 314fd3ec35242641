#include "symbol/symbolizer.hpp"

#include <elfutils/libdwfl.h>

#include <map>
#include <memory>
#include <set>
#include <utility>

namespace clonescope {

namespace {

const Dwfl_Callbacks kCallbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = nullptr,
};

struct DwflDeleter {
	void operator()(Dwfl *d) const { dwfl_end(d); }
};
using DwflPtr = std::unique_ptr<Dwfl, DwflDeleter>;

// A Dwfl session describing the address space of one image.
DwflPtr report_image(const UserImage &image)
{
	DwflPtr dwfl(dwfl_begin(&kCallbacks));
	if (!dwfl)
		return dwfl;
	dwfl_report_begin(dwfl.get());
	for (const auto &m : image.maps) {
		// The vDSO and other pseudo objects have no file: they just fail.
		dwfl_report_elf(dwfl.get(), m.path.c_str(), m.path.c_str(), -1, m.base, false);
	}
	dwfl_report_end(dwfl.get(), nullptr, nullptr);
	return dwfl;
}

SymbolInfo resolve(Dwfl *dwfl, const UserImage &image, uint32_t index, uint64_t addr)
{
	SymbolInfo s;
	s.image = index;
	s.address = addr;
	for (const auto &m : image.maps) {
		if (addr >= m.start && addr < m.end) {
			s.module = m.path;
			s.offset = addr - m.base;
			break;
		}
	}
	Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, addr) : nullptr;
	if (!mod)
		return s;
	GElf_Off off = 0;
	GElf_Sym sym;
	if (const char *name = dwfl_module_addrinfo(mod, addr, &off, &sym, nullptr, nullptr, nullptr)) {
		s.symbol = name;
		s.offset = off;
	}
	// A return address points after the call: look up the call itself.
	if (Dwfl_Line *line = dwfl_module_getsrc(mod, addr - 1)) {
		int lineno = 0;
		if (const char *file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
			s.file = file;
			s.line = lineno;
		}
	}
	return s;
}

} // namespace

std::vector<SymbolInfo> symbolize_call_sites(const Trace &trace)
{
	std::map<uint32_t, std::set<uint64_t>> sites;
	for (const auto &c : trace.calls)
		sites[c.image].insert(c.call_site);

	std::vector<SymbolInfo> out;
	for (const auto &[index, addrs] : sites) {
		if (index >= trace.images.size())
			continue;
		const UserImage &image = trace.images[index];
		DwflPtr dwfl = report_image(image);
		for (uint64_t addr : addrs)
			out.push_back(resolve(dwfl.get(), image, index, addr));
	}
	return out;
}

} // namespace clonescope
