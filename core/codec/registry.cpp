// The codec table: adding a codec is one file in this folder plus one row here.
#include "registry.hpp"

#include <stdexcept>
#include <string>

// The rows, in display order: row(x) names the descriptor codecs::x_codec that a file in this
// folder defines. The declarations and the table below are both made from this one list.
// clang-format off
#define COMPRESSTEST_CODEC_ROWS(row) \
    row(gzip)                        \
    row(deflate)                     \
    row(zlib)                        \
    row(bzip2)                       \
    row(zstd)                        \
    row(brotli)                      \
    row(xz)                          \
    row(lz4)                         \
    row(libdeflate)                  \
    row(zopfli)                      \
    /* a new codec's row goes above this line */
// clang-format on

namespace compresstest {

namespace codecs {
#define COMPRESSTEST_DECLARE_CODEC(x) extern const codec_descriptor x##_codec;
COMPRESSTEST_CODEC_ROWS(COMPRESSTEST_DECLARE_CODEC)
#undef COMPRESSTEST_DECLARE_CODEC
} // namespace codecs

namespace {
#define COMPRESSTEST_CODEC_ADDRESS(x) &codecs::x##_codec,
const codec_descriptor* const table[] = {COMPRESSTEST_CODEC_ROWS(COMPRESSTEST_CODEC_ADDRESS)};
#undef COMPRESSTEST_CODEC_ADDRESS
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

const codec_descriptor& codec_named(std::string_view name) {
    auto c = find_codec(name);
    if (!c) throw std::invalid_argument(c.err().message);
    return **c;
}

result<int> check_level(const codec_descriptor& c, int level) {
    if (level >= c.min_level && level <= c.max_level) return level;
    return error{error_kind::unprocessable,
                 "level " + std::to_string(level) + " is out of range for " + std::string(c.name) +
                     ": use " + std::to_string(c.min_level) + " to " + std::to_string(c.max_level)};
}

const codec_descriptor& base_of(const codec_descriptor& c) {
    return c.derived_from ? *c.derived_from : c;
}

std::string compress_to_string(const codec_descriptor& c, std::string_view in, int level,
                               memory_meter* meter) {
    std::string out;
    compress_into(c, in, level, out, meter);
    return out;
}

void compress_into(const codec_descriptor& c, std::string_view in, int level, std::string& out,
                   memory_meter* meter) {
    out.clear();
    c.compress(
        in, level, [&](const char* p, std::size_t n) { out.append(p, n); }, meter);
}

std::string decompress_to_string(const codec_descriptor& c, std::string_view in,
                                 std::size_t max_out_nbytes, memory_meter* meter) {
    std::string out;
    c.decompress(in, max_out_nbytes, out, meter);
    return out;
}

std::size_t compressed_nbytes(const codec_descriptor& c, std::string_view in, int level) {
    std::size_t n = 0;
    c.compress(
        in, level, [&](const char*, std::size_t k) { n += k; }, nullptr);
    return n;
}

} // namespace compresstest
