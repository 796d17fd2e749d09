// The codec table: adding a codec is one file in this folder plus one row here.
#include "registry.hpp"

#include "zlib_family.hpp"

#include <array>
#include <string>

namespace compresstest {

namespace codecs {
extern const codec_descriptor bzip2_codec;
extern const codec_descriptor zstd_codec;
extern const codec_descriptor brotli_codec;
extern const codec_descriptor xz_codec;
extern const codec_descriptor lz4_codec;
} // namespace codecs

namespace {
const std::array<const codec_descriptor*, 8> table = {
    &codecs::gzip_codec, &codecs::deflate_codec, &codecs::zlib_codec, &codecs::bzip2_codec,
    &codecs::zstd_codec, &codecs::brotli_codec,  &codecs::xz_codec,   &codecs::lz4_codec,
};
} // namespace

std::span<const codec_descriptor* const> all_codecs() {
    return table;
}

result<const codec_descriptor*> find_codec(std::string_view name) {
    for (const codec_descriptor* c : table)
        if (c->name == name) return c;
    std::string known;
    for (const codec_descriptor* c : table) {
        if (!known.empty()) known += ", ";
        known += c->name;
    }
    return error{error_kind::unprocessable,
                 "unknown codec \"" + std::string(name) + "\"; known codecs: " + known};
}

result<int> check_level(const codec_descriptor& c, int level) {
    if (level >= c.min_level && level <= c.max_level) return level;
    return error{error_kind::unprocessable,
                 "level " + std::to_string(level) + " is out of range for " + std::string(c.name) +
                     ": use " + std::to_string(c.min_level) + " to " + std::to_string(c.max_level)};
}

std::string compress_to_string(const codec_descriptor& c, std::string_view in, int level) {
    std::string out;
    c.compress(in, level, [&](const char* p, std::size_t n) { out.append(p, n); });
    return out;
}

std::size_t compressed_nbytes(const codec_descriptor& c, std::string_view in, int level) {
    std::size_t n = 0;
    c.compress(in, level, [&](const char*, std::size_t k) { n += k; });
    return n;
}

} // namespace compresstest
