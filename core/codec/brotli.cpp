// Brotli (RFC 7932) through libbrotlienc / libbrotlidec.
// needs: Debian libbrotli-dev, pkg-config libbrotlienc libbrotlidec
#include "codec.hpp"

#include <brotli/decode.h>
#include <brotli/encode.h>

#include <array>
#include <stdexcept>

namespace compresstest::codecs {
namespace {

constexpr std::size_t chunk_nbytes = 64 * 1024;
// BROTLI_PARAM_SIZE_HINT is 32-bit and only steers parameter choice; brotli treats any hint
// of 1 GiB or more alike, so larger inputs hint 1 GiB rather than a wrapped-around value.
constexpr std::size_t max_size_hint_nbytes = std::size_t{1} << 30;

// brotli's allocator hooks, with the meter as opaque (no meter: brotli's own malloc).
void* meter_allocate(void* opaque, std::size_t nbytes) {
    return static_cast<memory_meter*>(opaque)->allocate(nbytes);
}
void meter_release(void* opaque, void* p) {
    static_cast<memory_meter*>(opaque)->release(p);
}
brotli_alloc_func alloc_of(memory_meter* meter) {
    return meter ? meter_allocate : nullptr;
}
brotli_free_func free_of(memory_meter* meter) {
    return meter ? meter_release : nullptr;
}

using encoder = library_handle<BrotliEncoderState, BrotliEncoderDestroyInstance>;
using decoder = library_handle<BrotliDecoderState, BrotliDecoderDestroyInstance>;

void brotli_compress(std::string_view in, int level, const byte_sink& sink, memory_meter* meter) {
    const encoder st(BrotliEncoderCreateInstance(alloc_of(meter), free_of(meter), meter));
    if (!st) throw std::runtime_error("brotli: out of memory");
    BrotliEncoderSetParameter(st.get(), BROTLI_PARAM_QUALITY, static_cast<std::uint32_t>(level));
    // The size hint makes streaming pick the same parameters as one-shot compression.
    BrotliEncoderSetParameter(
        st.get(), BROTLI_PARAM_SIZE_HINT,
        static_cast<std::uint32_t>(std::min(in.size(), max_size_hint_nbytes)));
    std::array<std::uint8_t, chunk_nbytes> out;
    std::size_t avail_in = in.size();
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    while (!BrotliEncoderIsFinished(st.get())) {
        std::size_t avail_out = out.size();
        std::uint8_t* next_out = out.data();
        if (!BrotliEncoderCompressStream(st.get(), BROTLI_OPERATION_FINISH, &avail_in, &next_in,
                                         &avail_out, &next_out, nullptr))
            throw std::runtime_error("brotli: compress failed");
        sink(reinterpret_cast<const char*>(out.data()), out.size() - avail_out);
    }
}

void brotli_decompress(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                       memory_meter* meter) {
    const decoder st(BrotliDecoderCreateInstance(alloc_of(meter), free_of(meter), meter));
    if (!st) throw std::runtime_error("brotli: out of memory");
    output_room room(out, max_out_nbytes);
    std::size_t avail_in = in.size();
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    BrotliDecoderResult rc = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
    while (rc != BROTLI_DECODER_RESULT_SUCCESS) {
        const std::size_t room_nbytes = room.left();
        std::size_t avail_out = room_nbytes;
        auto* next_out = reinterpret_cast<std::uint8_t*>(room.next());
        rc = BrotliDecoderDecompressStream(st.get(), &avail_in, &next_in, &avail_out, &next_out,
                                           nullptr);
        room.wrote(room_nbytes - avail_out);
        if (rc == BROTLI_DECODER_RESULT_ERROR || rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT ||
            room.over_limit())
            throw std::runtime_error("brotli: corrupt, truncated or over the limit");
    }
    if (avail_in != 0) throw std::runtime_error("brotli: trailing bytes after the stream");
    room.finish();
}

} // namespace

extern const codec_descriptor brotli_codec{
    .name = "brotli",
    .content_coding = "br",
    .library = "libbrotli",
    .min_level = BROTLI_MIN_QUALITY,
    .default_level = 5,
    .max_level = BROTLI_MAX_QUALITY,
    .compress = brotli_compress,
    .decompress = brotli_decompress,
    .compress_metered = true,
    .decompress_metered = true,
};

} // namespace compresstest::codecs
