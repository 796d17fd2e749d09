// deflate (RFC 1951), zlib (RFC 1950) and gzip (RFC 1952) through the zlib library.
// needs: Debian zlib1g-dev, pkg-config zlib
#include "codec.hpp"

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

// Routes zs's allocations through meter, if there is one.
void use_meter(z_stream& zs, memory_meter* meter) {
    if (!meter) return;
    zs.zalloc = [](voidpf opaque, uInt items, uInt size) -> voidpf {
        return static_cast<memory_meter*>(opaque)->allocate(std::size_t{items} * size);
    };
    zs.zfree = [](voidpf opaque, voidpf p) { static_cast<memory_meter*>(opaque)->release(p); };
    zs.opaque = meter;
}

// Hands zlib the next slice of rest once it has used up the previous one: avail_in is 32-bit.
void refill(z_stream& zs, std::string_view& rest) {
    if (zs.avail_in != 0 || rest.empty()) return;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(rest.data()));
    zs.avail_in = slice_nbytes<uInt>(rest.size());
    rest.remove_prefix(zs.avail_in);
}

void deflate_with(std::string_view in, int level, int window_bits, const byte_sink& sink,
                  memory_meter* meter) {
    z_stream zs{};
    use_meter(zs, meter);
    if (deflateInit2(&zs, level, Z_DEFLATED, window_bits, mem_level_default, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
    const library_handle<z_stream, deflateEnd> owner(&zs);
    std::array<char, chunk_nbytes> out;
    std::string_view rest = in;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        refill(zs, rest);
        zs.next_out = reinterpret_cast<Bytef*>(out.data());
        zs.avail_out = static_cast<uInt>(out.size());
        // Z_FINISH once zlib holds the last slice; it then keeps being called until the end.
        rc = deflate(&zs, rest.empty() ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_STREAM_ERROR) throw std::runtime_error("zlib: deflate failed");
        sink(out.data(), out.size() - zs.avail_out);
    }
}

void inflate_with(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                  int window_bits, memory_meter* meter) {
    z_stream zs{};
    use_meter(zs, meter);
    if (inflateInit2(&zs, window_bits) != Z_OK) throw std::runtime_error("zlib: inflateInit2");
    const library_handle<z_stream, inflateEnd> owner(&zs);
    output_room room(out, max_out_nbytes);
    std::string_view rest = in;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        refill(zs, rest);
        const uInt room_nbytes = slice_nbytes<uInt>(room.left());
        zs.next_out = reinterpret_cast<Bytef*>(room.next());
        zs.avail_out = room_nbytes;
        rc = inflate(&zs, Z_NO_FLUSH);
        // Z_BUF_ERROR: no progress possible, i.e. the input ended before the stream did.
        if (rc != Z_OK && rc != Z_STREAM_END)
            throw std::runtime_error("zlib: corrupt or truncated stream");
        room.wrote(room_nbytes - zs.avail_out);
        if (room.over_limit()) throw std::runtime_error("zlib: output over the limit");
    }
    if (zs.avail_in != 0 || !rest.empty())
        throw std::runtime_error("zlib: trailing bytes after the stream");
    room.finish();
}

void deflate_compress(std::string_view in, int level, const byte_sink& sink, memory_meter* meter) {
    deflate_with(in, level, window_bits_raw, sink, meter);
}
void zlib_compress(std::string_view in, int level, const byte_sink& sink, memory_meter* meter) {
    deflate_with(in, level, window_bits_zlib, sink, meter);
}
void gzip_compress(std::string_view in, int level, const byte_sink& sink, memory_meter* meter) {
    deflate_with(in, level, window_bits_gzip, sink, meter);
}
void deflate_decompress(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                        memory_meter* meter) {
    inflate_with(in, max_out_nbytes, out, window_bits_raw, meter);
}
void zlib_decompress(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                     memory_meter* meter) {
    inflate_with(in, max_out_nbytes, out, window_bits_zlib, meter);
}
void gzip_decompress(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                     memory_meter* meter) {
    inflate_with(in, max_out_nbytes, out, window_bits_auto_detect, meter);
}

} // namespace

extern const codec_descriptor deflate_codec{
    .name = "deflate",
    .library = "zlib " ZLIB_VERSION,
    .min_level = 1,
    .default_level = 6,
    .max_level = 9,
    .compress = deflate_compress,
    .decompress = deflate_decompress,
    .compress_metered = true,
    .decompress_metered = true,
};
// RFC 9110 §8.4.1.2: the "deflate" content-coding is the zlib format.
extern const codec_descriptor zlib_codec{
    .name = "zlib",
    .content_coding = "deflate",
    .library = "zlib " ZLIB_VERSION,
    .min_level = 1,
    .default_level = 6,
    .max_level = 9,
    .compress = zlib_compress,
    .decompress = zlib_decompress,
    .compress_metered = true,
    .decompress_metered = true,
    .derived_from = &deflate_codec,
    .derived_overhead_nbytes = 6, // 2-byte header + Adler-32
};
extern const codec_descriptor gzip_codec{
    .name = "gzip",
    .content_coding = "gzip",
    .library = "zlib " ZLIB_VERSION,
    .min_level = 1,
    .default_level = 6,
    .max_level = 9,
    .compress = gzip_compress,
    .decompress = gzip_decompress,
    .compress_metered = true,
    .decompress_metered = true,
    .derived_from = &deflate_codec,
    .derived_overhead_nbytes = 18, // 10-byte header + CRC-32 + ISIZE
};

} // namespace compresstest::codecs
