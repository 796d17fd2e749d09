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

// The codec called name, for names the program itself writes (the default panel, the
// original API's keys): throws std::invalid_argument with find_codec's message if there is none.
const codec_descriptor& codec_named(std::string_view name);

// An error naming the valid range when level is outside [min_level, max_level].
result<int> check_level(const codec_descriptor& c, int level);

// The codec whose compression really runs for c: derived_from if set (gzip and zlib run
// deflate), else c itself.
const codec_descriptor& base_of(const codec_descriptor& c);

} // namespace compresstest
