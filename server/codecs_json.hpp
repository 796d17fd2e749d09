// The /api/codecs document: every registered codec, the default panel and the input limits.
#pragma once

#include "config/config.hpp"

#include <string>

namespace compresstest {

// Built once per app (it depends only on the registry and cfg).
std::string codecs_json(const config& cfg);

} // namespace compresstest
