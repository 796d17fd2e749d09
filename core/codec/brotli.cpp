// Brotli (RFC 7932) through libbrotlienc / libbrotlidec.
#include "codec.hpp"

#include <brotli/decode.h>
#include <brotli/encode.h>

#include <array>
#include <stdexcept>

namespace compresstest::codecs {
namespace {

constexpr std::size_t chunk_nbytes = 64 * 1024;

void brotli_compress(std::string_view in, int level, const byte_sink& sink) {
    BrotliEncoderState* st = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
    if (!st) throw std::runtime_error("brotli: out of memory");
    BrotliEncoderSetParameter(st, BROTLI_PARAM_QUALITY, static_cast<std::uint32_t>(level));
    // The size hint makes streaming pick the same parameters as one-shot compression.
    BrotliEncoderSetParameter(
        st, BROTLI_PARAM_SIZE_HINT,
        static_cast<std::uint32_t>(std::min<std::size_t>(in.size(), 1u << 30)));
    std::array<std::uint8_t, chunk_nbytes> out;
    std::size_t avail_in = in.size();
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    while (true) {
        std::size_t avail_out = out.size();
        std::uint8_t* next_out = out.data();
        if (!BrotliEncoderCompressStream(st, BROTLI_OPERATION_FINISH, &avail_in, &next_in,
                                         &avail_out, &next_out, nullptr)) {
            BrotliEncoderDestroyInstance(st);
            throw std::runtime_error("brotli: compress failed");
        }
        sink(reinterpret_cast<const char*>(out.data()), out.size() - avail_out);
        if (BrotliEncoderIsFinished(st)) break;
    }
    BrotliEncoderDestroyInstance(st);
}

std::string brotli_decompress(std::string_view in, std::size_t max_out_nbytes) {
    BrotliDecoderState* st = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    if (!st) throw std::runtime_error("brotli: out of memory");
    std::string out;
    std::array<std::uint8_t, chunk_nbytes> buf;
    std::size_t avail_in = in.size();
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    BrotliDecoderResult rc = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
    while (rc != BROTLI_DECODER_RESULT_SUCCESS) {
        std::size_t avail_out = buf.size();
        std::uint8_t* next_out = buf.data();
        rc = BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, nullptr);
        out.append(reinterpret_cast<const char*>(buf.data()), buf.size() - avail_out);
        if (rc == BROTLI_DECODER_RESULT_ERROR || rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT ||
            out.size() > max_out_nbytes) {
            BrotliDecoderDestroyInstance(st);
            throw std::runtime_error("brotli: corrupt, truncated or over the limit");
        }
    }
    BrotliDecoderDestroyInstance(st);
    return out;
}

double brotli_cost_ns_per_byte(int level) {
    static constexpr std::array<double, 12> ns = {3,  5,  10, 12,  16,   30,
                                                  40, 60, 80, 100, 1100, 2500};
    return ns[static_cast<std::size_t>(level)];
}

} // namespace

extern const codec_descriptor brotli_codec{"brotli",
                                           "br",
                                           "libbrotli",
                                           0,
                                           5,
                                           11,
                                           brotli_compress,
                                           brotli_decompress,
                                           brotli_cost_ns_per_byte,
                                           "",
                                           0,
                                           nullptr,
                                           nullptr,
                                           nullptr};

} // namespace compresstest::codecs
