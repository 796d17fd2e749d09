// xz (LZMA2 in the .xz container, CRC64 check) through liblzma.
// needs: Debian liblzma-dev, pkg-config liblzma
#include "codec.hpp"

#include <lzma.h>

#include <array>
#include <stdexcept>

namespace compresstest::codecs {
namespace {

constexpr std::size_t chunk_nbytes = 64 * 1024;
constexpr std::uint32_t decoder_flags = 0; // one .xz stream: trailing bytes are an error

// liblzma's allocator hooks, with the meter as opaque.
lzma_allocator allocator_of(memory_meter& meter) {
    return {[](void* opaque, std::size_t nmemb, std::size_t size) {
                return static_cast<memory_meter*>(opaque)->allocate(nmemb * size);
            },
            [](void* opaque, void* p) { static_cast<memory_meter*>(opaque)->release(p); }, &meter};
}

// Runs strm over all of in to the end of the stream. The caller's handle frees strm on every
// path, a throwing sink (an output limit) included.
void run_lzma(lzma_stream& strm, std::string_view in, const byte_sink& sink) {
    std::array<std::uint8_t, chunk_nbytes> out;
    strm.next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    strm.avail_in = in.size();
    lzma_ret rc = LZMA_OK;
    while (rc != LZMA_STREAM_END) {
        strm.next_out = out.data();
        strm.avail_out = out.size();
        rc = lzma_code(&strm, LZMA_FINISH);
        if (rc != LZMA_OK && rc != LZMA_STREAM_END)
            throw std::runtime_error("xz: stream error " + std::to_string(rc));
        sink(reinterpret_cast<const char*>(out.data()), out.size() - strm.avail_out);
    }
    if (strm.avail_in != 0) throw std::runtime_error("xz: trailing bytes after the stream");
}

void xz_compress(std::string_view in, int level, const byte_sink& sink, memory_meter* meter) {
    lzma_stream strm = LZMA_STREAM_INIT;
    // Declared before the stream's handle, so it outlives lzma_end's frees.
    const lzma_allocator allocator = meter ? allocator_of(*meter) : lzma_allocator{};
    if (meter) strm.allocator = &allocator;
    if (lzma_easy_encoder(&strm, static_cast<std::uint32_t>(level), LZMA_CHECK_CRC64) != LZMA_OK)
        throw std::runtime_error("xz: encoder init failed");
    const library_handle<lzma_stream, lzma_end> owner(&strm);
    run_lzma(strm, in, sink);
}

void xz_decompress(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                   memory_meter* meter) {
    lzma_stream strm = LZMA_STREAM_INIT;
    const lzma_allocator allocator = meter ? allocator_of(*meter) : lzma_allocator{};
    if (meter) strm.allocator = &allocator;
    if (lzma_stream_decoder(&strm, UINT64_MAX, decoder_flags) != LZMA_OK)
        throw std::runtime_error("xz: decoder init failed");
    const library_handle<lzma_stream, lzma_end> owner(&strm);
    output_room room(out, max_out_nbytes);
    strm.next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    strm.avail_in = in.size();
    lzma_ret rc = LZMA_OK;
    while (rc != LZMA_STREAM_END) {
        const std::size_t room_nbytes = room.left();
        strm.next_out = reinterpret_cast<std::uint8_t*>(room.next());
        strm.avail_out = room_nbytes;
        rc = lzma_code(&strm, LZMA_FINISH);
        if (rc != LZMA_OK && rc != LZMA_STREAM_END)
            throw std::runtime_error("xz: stream error " + std::to_string(rc));
        room.wrote(room_nbytes - strm.avail_out);
        if (room.over_limit()) throw std::runtime_error("xz: output over the limit");
    }
    if (strm.avail_in != 0) throw std::runtime_error("xz: trailing bytes after the stream");
    room.finish();
}

} // namespace

extern const codec_descriptor xz_codec{
    .name = "xz",
    .library = "liblzma " LZMA_VERSION_STRING,
    .min_level = 0,
    .default_level = 6,
    .max_level = 9,
    .compress = xz_compress,
    .decompress = xz_decompress,
    .compress_metered = true,
    .decompress_metered = true,
};

} // namespace compresstest::codecs
