// The three zlib-library codecs, exposed so TinySite and tests can name them directly.
#pragma once

#include "codec.hpp"

namespace compresstest::codecs {

extern const codec_descriptor deflate_codec;
extern const codec_descriptor zlib_codec;
extern const codec_descriptor gzip_codec;

} // namespace compresstest::codecs
