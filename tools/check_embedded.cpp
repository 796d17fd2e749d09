// Build step: fails the build when the embedded TinySite page misses its budget, and lists the
// codec levels that the embedded cost table has not measured yet.
#include "codec/costs.hpp"
#include "codec/registry.hpp"
#include "tinysite.hpp"

#include <iostream>
#include <string>

namespace {

bool measured(const compresstest::codec_descriptor& c, int level) {
    for (const auto& row : compresstest::measured_costs())
        if (row.codec == c.name && row.level == level) return true;
    return false;
}

// "zopfli:1-100, libdeflate:12": the levels of each codec that have no cost row.
std::string unmeasured_levels() {
    std::string out;
    for (const auto* c : compresstest::all_codecs()) {
        if (c->derived_from) continue;
        for (int level = c->min_level; level <= c->max_level; ++level) {
            if (measured(*c, level)) continue;
            int last = level;
            while (last < c->max_level && !measured(*c, last + 1))
                ++last;
            out += (out.empty() ? "" : ", ") + std::string(c->name) + ":" + std::to_string(level) +
                   (last > level ? "-" + std::to_string(last) : "");
            level = last;
        }
    }
    return out;
}

} // namespace

int main() {
    const auto budget = compresstest::tinysite::check_budget();
    if (!budget) {
        std::cerr << "error: " << budget.err().message << " (core/tinysite_page/index.html)\n";
        return 1;
    }
    std::cout << "TinySite response: " << *budget << " of "
              << compresstest::tinysite::segment_budget_nbytes << " bytes\n";
    if (const auto missing = unmeasured_levels(); !missing.empty())
        std::cout << "warning: no measured cost for " << missing
                  << "; the CPU budget counts them at the costliest measured figure until "
                     "`compresstest report --calibrate` measures them\n";
    return 0;
}
