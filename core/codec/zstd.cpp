// Zstandard through libzstd, one frame with the content size recorded.
#include "codec.hpp"

#include <zstd.h>

#include <array>
#include <stdexcept>

namespace compresstest::codecs {
namespace {

constexpr std::size_t chunk_nbytes = 64 * 1024;

void zstd_compress(std::string_view in, int level, const byte_sink& sink) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    if (!cctx) throw std::runtime_error("zstd: out of memory");
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    // Declaring the size up front lets zstd size its window as the one-shot API would.
    ZSTD_CCtx_setPledgedSrcSize(cctx, in.size());
    std::array<char, chunk_nbytes> out;
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    std::size_t remaining = 0;
    do {
        ZSTD_outBuffer output{out.data(), out.size(), 0};
        remaining = ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_end);
        if (ZSTD_isError(remaining)) {
            ZSTD_freeCCtx(cctx);
            throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(remaining));
        }
        sink(out.data(), output.pos);
    } while (remaining != 0);
    ZSTD_freeCCtx(cctx);
}

std::string zstd_decompress(std::string_view in, std::size_t max_out_nbytes) {
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    if (!dctx) throw std::runtime_error("zstd: out of memory");
    std::string out;
    std::array<char, chunk_nbytes> buf;
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    std::size_t rc = 1;
    while (rc != 0) {
        ZSTD_outBuffer output{buf.data(), buf.size(), 0};
        rc = ZSTD_decompressStream(dctx, &output, &input);
        if (ZSTD_isError(rc)) {
            ZSTD_freeDCtx(dctx);
            throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(rc));
        }
        out.append(buf.data(), output.pos);
        if (out.size() > max_out_nbytes) {
            ZSTD_freeDCtx(dctx);
            throw std::runtime_error("zstd: output over the limit");
        }
        if (rc != 0 && input.pos == input.size && output.pos < output.size) {
            ZSTD_freeDCtx(dctx);
            throw std::runtime_error("zstd: truncated frame");
        }
    }
    ZSTD_freeDCtx(dctx);
    return out;
}

double zstd_cost_ns_per_byte(int level) {
    static constexpr std::array<double, 23> ns = {0,   3,   4,   5,   6,   9,   11, 14,
                                                  17,  22,  28,  40,  45,  80,  90, 110,
                                                  190, 230, 300, 450, 550, 700, 900};
    return ns[static_cast<std::size_t>(level)];
}

} // namespace

extern const codec_descriptor zstd_codec{
    "zstd",        "zstd",          "libzstd " ZSTD_VERSION_STRING, 1,  3, 22,
    zstd_compress, zstd_decompress, zstd_cost_ns_per_byte,          "", 0, nullptr,
    nullptr,       nullptr};

} // namespace compresstest::codecs
