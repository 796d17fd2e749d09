// bzip2 through libbz2, with an exact whole-stream size assembled from independent blocks.
// needs: Debian libbz2-dev, library bz2
#include "codec.hpp"

#include <bzlib.h>

#include <array>
#include <stdexcept>

namespace compresstest::codecs {
namespace {

constexpr std::size_t chunk_nbytes = 64 * 1024;
constexpr int work_factor_default = 0; // libbz2's default (30)
constexpr int verbosity_quiet = 0;

// Stream layout (bits): "BZh" + level digit (32), blocks (each starts with the 48-bit
// magic 0x314159265359 and the block CRC), end-of-stream magic 0x177245385090 (48) +
// combined CRC (32), then zero padding to a whole byte.
constexpr std::uint64_t stream_header_nbits = 32;
constexpr std::uint64_t stream_trailer_nbits = 48 + 32;
constexpr std::uint64_t eos_magic = 0x177245385090ull;

// Routes bs's allocations through meter, if there is one.
void use_meter(bz_stream& bs, memory_meter* meter) {
    if (!meter) return;
    bs.bzalloc = [](void* opaque, int n, int m) {
        return static_cast<memory_meter*>(opaque)->allocate(static_cast<std::size_t>(n) *
                                                            static_cast<std::size_t>(m));
    };
    bs.bzfree = [](void* opaque, void* p) { static_cast<memory_meter*>(opaque)->release(p); };
    bs.opaque = meter;
}

// Hands libbz2 the next slice of rest once it has used up the previous one: avail_in is 32-bit.
void refill(bz_stream& bs, std::string_view& rest) {
    if (bs.avail_in != 0 || rest.empty()) return;
    bs.next_in = const_cast<char*>(rest.data());
    bs.avail_in = slice_nbytes<unsigned>(rest.size());
    rest.remove_prefix(bs.avail_in);
}

void bzip2_compress(std::string_view in, int level, const byte_sink& sink, memory_meter* meter) {
    bz_stream bs{};
    use_meter(bs, meter);
    if (BZ2_bzCompressInit(&bs, level, verbosity_quiet, work_factor_default) != BZ_OK)
        throw std::runtime_error("bzip2: BZ2_bzCompressInit failed");
    const library_handle<bz_stream, BZ2_bzCompressEnd> owner(&bs);
    std::array<char, chunk_nbytes> out;
    std::string_view rest = in;
    int rc = BZ_RUN_OK;
    while (rc != BZ_STREAM_END) {
        refill(bs, rest);
        bs.next_out = out.data();
        bs.avail_out = static_cast<unsigned>(out.size());
        // BZ_FINISH once libbz2 holds the last slice; it then keeps being called until the end.
        rc = BZ2_bzCompress(&bs, rest.empty() ? BZ_FINISH : BZ_RUN);
        if (rc < 0) throw std::runtime_error("bzip2: compress failed");
        sink(out.data(), out.size() - bs.avail_out);
    }
}

void bzip2_decompress(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                      memory_meter* meter) {
    bz_stream bs{};
    use_meter(bs, meter);
    if (BZ2_bzDecompressInit(&bs, verbosity_quiet, 0) != BZ_OK)
        throw std::runtime_error("bzip2: BZ2_bzDecompressInit failed");
    const library_handle<bz_stream, BZ2_bzDecompressEnd> owner(&bs);
    output_room room(out, max_out_nbytes);
    std::string_view rest = in;
    int rc = BZ_OK;
    while (rc != BZ_STREAM_END) {
        refill(bs, rest);
        const unsigned room_nbytes = slice_nbytes<unsigned>(room.left());
        bs.next_out = room.next();
        bs.avail_out = room_nbytes;
        rc = BZ2_bzDecompress(&bs);
        if (rc != BZ_OK && rc != BZ_STREAM_END) throw std::runtime_error("bzip2: corrupt stream");
        room.wrote(room_nbytes - bs.avail_out);
        if (room.over_limit()) throw std::runtime_error("bzip2: output over the limit");
        // BZ_OK with every byte read and room left: the input ended before the stream did.
        if (rc == BZ_OK && bs.avail_in == 0 && rest.empty() && bs.avail_out != 0)
            throw std::runtime_error("bzip2: truncated stream");
    }
    if (bs.avail_in != 0 || !rest.empty())
        throw std::runtime_error("bzip2: trailing bytes after the stream");
    room.finish();
}

// Where libbz2 closes its blocks. It run-length encodes the input first (runs of 4..255
// equal bytes become 4 bytes + a count) and closes a block once the encoded block reaches
// 100000 * level - 19 bytes; the byte that made it full stays pending (it may start a run)
// and opens the next block. This replays that bookkeeping (bzlib.c: ADD_CHAR_TO_BLOCK,
// add_pair_to_block, copy_input_until_stop) so each piece is exactly one of its blocks.
std::vector<std::string_view> bzip2_split(std::string_view in, int level) {
    const std::size_t block_max_nbytes = 100000u * static_cast<unsigned>(level) - 19u;
    std::vector<std::string_view> pieces;
    std::size_t block_begin = 0;
    std::size_t nblock = 0;     // encoded bytes in the current block
    int run_byte = -1;          // state_in_ch; -1 = none yet
    std::size_t run_nbytes = 0; // state_in_len
    auto pair_nbytes = [](std::size_t run) { return run < 4 ? run : std::size_t{5}; };
    for (std::size_t i = 0; i < in.size(); ++i) {
        const int byte = static_cast<unsigned char>(in[i]);
        if (byte != run_byte || run_nbytes == 255) {
            if (run_byte >= 0) nblock += pair_nbytes(run_nbytes);
            run_byte = byte;
            run_nbytes = 1;
        } else {
            ++run_nbytes;
        }
        // The check runs before the next byte is consumed; at the very end libbz2 finishes
        // instead, so the last byte never opens a block of its own.
        if (nblock >= block_max_nbytes && i + 1 < in.size()) {
            pieces.push_back(in.substr(block_begin, i - block_begin));
            block_begin = i;
            nblock = 0;
            run_nbytes = 1;
        }
    }
    if (block_begin < in.size()) pieces.push_back(in.substr(block_begin));
    return pieces;
}

// Bits one block occupies: the piece's stream of its own holds exactly one block; take off
// the stream header and the end-of-stream record. The trailer is the 48-bit magic and a CRC,
// followed by 0..7 zero padding bits; find where the magic starts.
std::uint64_t bzip2_piece_nbits(std::string_view stream, int) {
    const std::uint64_t total_nbits = std::uint64_t{stream.size()} * 8;
    auto bits_at = [&](std::uint64_t bit, unsigned count) {
        std::uint64_t v = 0;
        for (unsigned k = 0; k < count; ++k) {
            const std::uint64_t b = bit + k;
            v = (v << 1) | ((static_cast<unsigned char>(stream[b / 8]) >> (7 - b % 8)) & 1u);
        }
        return v;
    };
    for (unsigned pad = 0; pad < 8; ++pad) {
        const std::uint64_t end = total_nbits - pad;
        if (end < stream_header_nbits + stream_trailer_nbits) break;
        if (pad > 0 && bits_at(end, pad) != 0) continue;
        if (bits_at(end - stream_trailer_nbits, 48) == eos_magic)
            return end - stream_trailer_nbits - stream_header_nbits;
    }
    throw std::runtime_error("bzip2: end-of-stream marker not found");
}

std::size_t bzip2_assemble_nbytes(std::uint64_t total_piece_nbits, int) {
    return static_cast<std::size_t>(
        (stream_header_nbits + total_piece_nbits + stream_trailer_nbits + 7) / 8);
}

} // namespace

extern const codec_descriptor bzip2_codec{
    .name = "bzip2",
    .library = "libbz2",
    .min_level = 1,
    .default_level = 9,
    .max_level = 9,
    .compress = bzip2_compress,
    .decompress = bzip2_decompress,
    .compress_metered = true,
    .decompress_metered = true,
    .split = bzip2_split,
    .piece_nbits = bzip2_piece_nbits,
    .assemble_nbytes = bzip2_assemble_nbytes,
};

} // namespace compresstest::codecs
