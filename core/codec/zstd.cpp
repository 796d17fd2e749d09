// Zstandard through libzstd, one frame with the content size recorded.
// needs: Debian libzstd-dev, pkg-config libzstd
#include "codec.hpp"

// ZSTD_customMem and the _advanced constructors are in the static-linking section.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <array>
#include <stdexcept>

namespace compresstest::codecs {
namespace {

constexpr std::size_t chunk_nbytes = 64 * 1024;

using compression_context = library_handle<ZSTD_CCtx, ZSTD_freeCCtx>;
using decompression_context = library_handle<ZSTD_DCtx, ZSTD_freeDCtx>;

// The library's allocator, or meter's if there is one.
ZSTD_customMem memory_of(memory_meter* meter) {
    if (!meter) return ZSTD_defaultCMem;
    return {[](void* opaque, std::size_t nbytes) {
                return static_cast<memory_meter*>(opaque)->allocate(nbytes);
            },
            [](void* opaque, void* p) { static_cast<memory_meter*>(opaque)->release(p); }, meter};
}

std::size_t checked(std::size_t rc) {
    if (ZSTD_isError(rc)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(rc));
    return rc;
}

void zstd_compress(std::string_view in, int level, const byte_sink& sink, memory_meter* meter) {
    const compression_context cctx(ZSTD_createCCtx_advanced(memory_of(meter)));
    if (!cctx) throw std::runtime_error("zstd: out of memory");
    checked(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level));
    // Declaring the size up front lets zstd size its window as the one-shot API would.
    checked(ZSTD_CCtx_setPledgedSrcSize(cctx.get(), in.size()));
    std::array<char, chunk_nbytes> out;
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    std::size_t remaining = 0;
    do {
        ZSTD_outBuffer output{out.data(), out.size(), 0};
        remaining = checked(ZSTD_compressStream2(cctx.get(), &output, &input, ZSTD_e_end));
        sink(out.data(), output.pos);
    } while (remaining != 0);
}

void zstd_decompress(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                     memory_meter* meter) {
    const decompression_context dctx(ZSTD_createDCtx_advanced(memory_of(meter)));
    if (!dctx) throw std::runtime_error("zstd: out of memory");
    output_room room(out, max_out_nbytes);
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    std::size_t rc = 1; // 0 once a frame is complete
    while (rc != 0) {
        ZSTD_outBuffer output{room.next(), room.left(), 0};
        rc = checked(ZSTD_decompressStream(dctx.get(), &output, &input));
        room.wrote(output.pos);
        if (room.over_limit()) throw std::runtime_error("zstd: output over the limit");
        if (rc != 0 && input.pos == input.size && output.pos < output.size)
            throw std::runtime_error("zstd: truncated frame");
    }
    if (input.pos != input.size) throw std::runtime_error("zstd: trailing bytes after the frame");
    room.finish();
}

} // namespace

extern const codec_descriptor zstd_codec{
    .name = "zstd",
    .content_coding = "zstd",
    .library = "libzstd " ZSTD_VERSION_STRING,
    .min_level = 1,
    .default_level = 3,
    .max_level = 22,
    .compress = zstd_compress,
    .decompress = zstd_decompress,
    .compress_metered = true,
    .decompress_metered = true,
};

} // namespace compresstest::codecs
