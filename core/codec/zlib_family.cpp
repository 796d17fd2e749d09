// deflate (RFC 1951), zlib (RFC 1950) and gzip (RFC 1952) through the zlib library.
#include "zlib_family.hpp"

#include <zlib.h>

#include <array>
#include <stdexcept>

namespace compresstest::codecs {
namespace {

// zlib picks the container from windowBits: negative is raw deflate, +16 is gzip.
constexpr int window_bits_raw = -15;
constexpr int window_bits_zlib = 15;
constexpr int window_bits_gzip = 15 + 16;
constexpr int window_bits_auto_detect = 15 + 32; // zlib or gzip, by header
constexpr int mem_level_default = 8;             // zlib's default, as web servers use it
constexpr std::size_t chunk_nbytes = 64 * 1024;

void deflate_with(std::string_view in, int level, int window_bits, const byte_sink& sink) {
    z_stream zs{};
    if (deflateInit2(&zs, level, Z_DEFLATED, window_bits, mem_level_default, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
    std::array<char, chunk_nbytes> out;
    // zlib's avail_in is 32-bit; feed in slices so any input size works.
    std::size_t offset = 0;
    int rc = Z_OK;
    do {
        const std::size_t slice = std::min<std::size_t>(in.size() - offset, 1u << 30);
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + offset));
        zs.avail_in = static_cast<uInt>(slice);
        offset += slice;
        const int flush = offset == in.size() ? Z_FINISH : Z_NO_FLUSH;
        do {
            zs.next_out = reinterpret_cast<Bytef*>(out.data());
            zs.avail_out = static_cast<uInt>(out.size());
            rc = deflate(&zs, flush);
            if (rc == Z_STREAM_ERROR) {
                deflateEnd(&zs);
                throw std::runtime_error("zlib: deflate failed");
            }
            sink(out.data(), out.size() - zs.avail_out);
        } while (zs.avail_out == 0);
    } while (rc != Z_STREAM_END);
    deflateEnd(&zs);
}

std::string inflate_with(std::string_view in, std::size_t max_out_nbytes, int window_bits) {
    z_stream zs{};
    if (inflateInit2(&zs, window_bits) != Z_OK) throw std::runtime_error("zlib: inflateInit2");
    std::string out;
    std::array<char, chunk_nbytes> buf;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(buf.data());
        zs.avail_out = static_cast<uInt>(buf.size());
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&zs);
            throw std::runtime_error("zlib: corrupt or truncated stream");
        }
        out.append(buf.data(), buf.size() - zs.avail_out);
        if (out.size() > max_out_nbytes) {
            inflateEnd(&zs);
            throw std::runtime_error("zlib: output over the limit");
        }
        if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
            inflateEnd(&zs);
            throw std::runtime_error("zlib: truncated stream");
        }
    }
    inflateEnd(&zs);
    return out;
}

// Measured on English text, single thread (bench/ refreshes these figures).
double zlib_cost_ns_per_byte(int level) {
    static constexpr std::array<double, 10> ns = {1, 9, 10, 12, 14, 19, 26, 33, 56, 75};
    return ns[static_cast<std::size_t>(level)];
}

} // namespace

void deflate_compress(std::string_view in, int level, const byte_sink& sink) {
    deflate_with(in, level, window_bits_raw, sink);
}
void zlib_compress(std::string_view in, int level, const byte_sink& sink) {
    deflate_with(in, level, window_bits_zlib, sink);
}
void gzip_compress(std::string_view in, int level, const byte_sink& sink) {
    deflate_with(in, level, window_bits_gzip, sink);
}
std::string deflate_decompress(std::string_view in, std::size_t max_out_nbytes) {
    return inflate_with(in, max_out_nbytes, window_bits_raw);
}
std::string zlib_decompress(std::string_view in, std::size_t max_out_nbytes) {
    return inflate_with(in, max_out_nbytes, window_bits_zlib);
}
std::string gzip_decompress(std::string_view in, std::size_t max_out_nbytes) {
    return inflate_with(in, max_out_nbytes, window_bits_auto_detect);
}

const codec_descriptor deflate_codec{"deflate",
                                     "",
                                     "zlib " ZLIB_VERSION,
                                     1,
                                     6,
                                     9,
                                     deflate_compress,
                                     deflate_decompress,
                                     zlib_cost_ns_per_byte,
                                     "",
                                     0,
                                     nullptr,
                                     nullptr,
                                     nullptr};
// RFC 9110 §8.4.1.2: the "deflate" content-coding is the zlib format.
const codec_descriptor zlib_codec{
    "zlib",        "deflate",       "zlib " ZLIB_VERSION,  1,         6, 9,
    zlib_compress, zlib_decompress, zlib_cost_ns_per_byte, "deflate", 6, nullptr,
    nullptr,       nullptr};
const codec_descriptor gzip_codec{
    "gzip",        "gzip",          "zlib " ZLIB_VERSION,  1,         6,  9,
    gzip_compress, gzip_decompress, zlib_cost_ns_per_byte, "deflate", 18, nullptr,
    nullptr,       nullptr};

} // namespace compresstest::codecs
