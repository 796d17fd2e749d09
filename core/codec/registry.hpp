// The codec table: every codec the service offers, looked up by name.
#pragma once

#include "../result.hpp"
#include "codec.hpp"

#include <span>
#include <string_view>

namespace compresstest {

// Every codec, in display order. The table is immutable; safe from any thread.
std::span<const codec_descriptor* const> all_codecs();

// The codec called name, or an unprocessable error listing the known names.
result<const codec_descriptor*> find_codec(std::string_view name);

// An error naming the valid range when level is outside [min_level, max_level].
result<int> check_level(const codec_descriptor& c, int level);

} // namespace compresstest
