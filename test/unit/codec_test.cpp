// Properties of every registered codec: round trips, exact derived sizes, split reassembly.
#include "codec/costs.hpp"
#include "codec/registry.hpp"
#include "inputs.hpp"

#include <bzlib.h>
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

namespace compresstest {
namespace {

using test::random_bytes;
using test::run_bytes;
using test::text_bytes;

struct codec_level {
    const codec_descriptor* codec;
    int level;
};

std::vector<codec_level> every_codec_level() {
    std::vector<codec_level> out;
    for (const codec_descriptor* c : all_codecs())
        for (int level = c->min_level; level <= c->max_level; ++level)
            out.push_back({c, level});
    return out;
}

std::vector<const codec_descriptor*> codecs_where(bool (*has)(const codec_descriptor&)) {
    std::vector<const codec_descriptor*> out;
    for (const codec_descriptor* c : all_codecs())
        if (has(*c)) out.push_back(c);
    return out;
}

// Input sizes scaled by the measured cost, so that the slowest levels stay quick to test:
// about 10 ms of CPU per input, between 512 bytes and 40 kB.
std::size_t test_input_nbytes(const codec_descriptor& c, int level) {
    constexpr double budget_ns = 10e6;
    return std::clamp<std::size_t>(static_cast<std::size_t>(budget_ns / cost_ns_per_byte(c, level)),
                                   512, 40'000);
}

class every_codec_and_level : public ::testing::TestWithParam<codec_level> {};

TEST_P(every_codec_and_level, round_trips_and_counts_what_it_writes) {
    const auto [codec, level] = GetParam();
    const std::size_t n = test_input_nbytes(*codec, level);
    const std::string compressible[] = {text_bytes(n, 2), run_bytes(n, 3)};
    const std::string incompressible[] = {"", "x", random_bytes(n / 2, 1)};
    for (const auto& in : compressible) {
        const std::string packed = compress_to_string(*codec, in, level);
        EXPECT_LT(packed.size(), in.size() / 2) << codec->name << ':' << level;
        EXPECT_EQ(decompress_to_string(*codec, packed, in.size()), in)
            << codec->name << ':' << level;
    }
    for (const auto& in : incompressible)
        EXPECT_EQ(decompress_to_string(*codec, compress_to_string(*codec, in, level), in.size()),
                  in)
            << codec->name << ':' << level << " on " << in.size() << " bytes";
    EXPECT_EQ(compressed_nbytes(*codec, compressible[0], level),
              compress_to_string(*codec, compressible[0], level).size());
}

// Through its hooks, a metered library's heap use is seen from its first allocation to its last
// free: a peak above zero, nothing live afterwards (a missed hook would unbalance the count or
// crash, as release() reads a header only allocate() writes).
TEST_P(every_codec_and_level, meters_its_heap_use_and_frees_it_all) {
    const auto [codec, level] = GetParam();
    const std::string in = text_bytes(test_input_nbytes(*codec, level), 8);
    memory_meter compress_meter, decompress_meter;
    const std::string packed = compress_to_string(*codec, in, level, &compress_meter);
    EXPECT_EQ(decompress_to_string(*codec, packed, in.size(), &decompress_meter), in);
    EXPECT_EQ(compress_meter.peak_nbytes() > 0, codec->compress_metered);
    EXPECT_EQ(decompress_meter.peak_nbytes() > 0, codec->decompress_metered);
    EXPECT_EQ(compress_meter.live_nbytes(), 0u);
    EXPECT_EQ(decompress_meter.live_nbytes(), 0u);
}

INSTANTIATE_TEST_SUITE_P(registry, every_codec_and_level, ::testing::ValuesIn(every_codec_level()),
                         [](const auto& param_info) {
                             return std::string(param_info.param.codec->name) + "_" +
                                    std::to_string(param_info.param.level);
                         });

TEST(decompress, refuses_output_over_the_limit_and_truncated_or_trailing_input) {
    const std::string in = text_bytes(10'000, 4);
    for (const codec_descriptor* c : all_codecs()) {
        const std::string packed = compress_to_string(*c, in, c->default_level);
        EXPECT_THROW(decompress_to_string(*c, packed, in.size() - 1), std::runtime_error)
            << c->name;
        EXPECT_THROW(decompress_to_string(*c, packed.substr(0, packed.size() / 2), in.size()),
                     std::runtime_error)
            << c->name;
        EXPECT_THROW(decompress_to_string(*c, packed + "junk", in.size()), std::runtime_error)
            << c->name;
    }
}

// A report's repeated runs decode into the last run's buffer: what it held (longer, shorter or
// the same output) must not show through, and a failed run's leftovers must not either.
TEST(decompress, writes_over_what_its_output_held) {
    const std::string a = text_bytes(30'000, 6), b = text_bytes(7'000, 9);
    for (const codec_descriptor* c : all_codecs()) {
        const std::string packed_a = compress_to_string(*c, a, c->default_level);
        const std::string packed_b = compress_to_string(*c, b, c->default_level);
        std::string out(50'000, 'z');
        c->decompress(packed_a, a.size(), out, nullptr);
        EXPECT_EQ(out, a) << c->name << ": over a longer buffer";
        c->decompress(packed_a, a.size(), out, nullptr);
        EXPECT_EQ(out, a) << c->name << ": the same output again";
        EXPECT_THROW(c->decompress(packed_a, b.size(), out, nullptr), std::runtime_error)
            << c->name;
        c->decompress(packed_b, b.size(), out, nullptr);
        EXPECT_EQ(out, b) << c->name << ": a shorter output after a failed run";
    }
}

struct sink_failure : std::exception {};

// Every library context is owned by a handle, so a sink that throws (an output limit) frees
// it; the sanitizer build's LeakSanitizer fails this test if any codec leaks.
TEST(compress, a_throwing_sink_propagates_and_leaks_nothing) {
    const std::string in = text_bytes(200'000, 5);
    for (const codec_descriptor* c : all_codecs())
        for (int level : {c->min_level, c->default_level}) {
            int calls = 0;
            EXPECT_THROW(c->compress(
                             in.substr(0, test_input_nbytes(*c, level)), level,
                             [&](const char*, std::size_t) {
                                 ++calls;
                                 throw sink_failure{};
                             },
                             nullptr),
                         sink_failure)
                << c->name << ':' << level;
            EXPECT_EQ(calls, 1) << c->name << ':' << level;
        }
}

TEST(registry, unknown_codec_is_an_error_naming_the_known_ones) {
    auto r = find_codec("lzma9000");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.err().kind, error_kind::unprocessable);
    for (const codec_descriptor* c : all_codecs())
        EXPECT_NE(r.err().message.find(c->name), std::string::npos) << c->name;
}

TEST(registry, codec_named_throws_a_clear_error_for_a_missing_name) {
    for (const codec_descriptor* c : all_codecs())
        EXPECT_EQ(&codec_named(c->name), c);
    try {
        codec_named("lzma9000");
        FAIL() << "no exception";
    } catch (const std::invalid_argument& ex) {
        EXPECT_NE(std::string(ex.what()).find("unknown codec \"lzma9000\""), std::string::npos)
            << ex.what();
    }
}

TEST(registry, out_of_range_level_names_the_valid_range) {
    for (const codec_descriptor* c : all_codecs()) {
        const std::string range =
            std::to_string(c->min_level) + " to " + std::to_string(c->max_level);
        for (int level : {c->min_level - 1, c->max_level + 1}) {
            auto r = check_level(*c, level);
            ASSERT_FALSE(r) << c->name << ':' << level;
            EXPECT_NE(r.err().message.find(range), std::string::npos) << r.err().message;
        }
        EXPECT_TRUE(check_level(*c, c->max_level));
    }
}

TEST(registry, names_are_unique_and_descriptors_complete) {
    std::set<std::string_view> names;
    for (const codec_descriptor* c : all_codecs()) {
        EXPECT_TRUE(names.insert(c->name).second) << c->name;
        EXPECT_FALSE(c->library.empty()) << c->name;
        EXPECT_TRUE(c->compress && c->decompress) << c->name;
        EXPECT_LE(c->min_level, c->default_level) << c->name;
        EXPECT_LE(c->default_level, c->max_level) << c->name;
        EXPECT_EQ(c->split != nullptr, c->piece_nbits != nullptr) << c->name;
        EXPECT_EQ(c->split != nullptr, c->assemble_nbytes != nullptr) << c->name;
        if (c->derived_from) {
            EXPECT_EQ(c->derived_from->derived_from, nullptr) << c->name << ": one step only";
            EXPECT_EQ(c->min_level, c->derived_from->min_level) << c->name;
            EXPECT_EQ(c->max_level, c->derived_from->max_level) << c->name;
        }
        for (int level = c->min_level; level <= c->max_level; ++level) {
            EXPECT_GT(cost_ns_per_byte(*c, level), 0) << c->name << ':' << level;
            EXPECT_GT(decompress_ns_per_byte(*c, level), 0) << c->name << ':' << level;
        }
    }
}

TEST(costs, every_row_names_a_registered_base_codec_and_level_once) {
    std::set<std::pair<std::string_view, int>> seen;
    for (const auto& row : measured_costs()) {
        auto c = find_codec(row.codec);
        ASSERT_TRUE(c) << row.codec;
        EXPECT_EQ((*c)->derived_from, nullptr) << row.codec << ": derived codecs cost their base";
        EXPECT_TRUE(check_level(**c, row.level)) << row.codec << ':' << row.level;
        EXPECT_GT(row.compress_ns_per_byte, 0) << row.codec << ':' << row.level;
        EXPECT_GT(row.decompress_ns_per_byte, 0) << row.codec << ':' << row.level;
        // Only codecs that cut their input into blocks have their samples scaled.
        if ((*c)->split)
            EXPECT_GT(row.block_sample_factor, 0) << row.codec << ':' << row.level;
        else
            EXPECT_EQ(row.block_sample_factor, 1) << row.codec << ':' << row.level;
        EXPECT_TRUE(seen.insert({row.codec, row.level}).second) << row.codec << ':' << row.level;
    }
}

TEST(costs, calibration_corpus_is_the_same_every_time_and_spans_its_kinds) {
    constexpr std::size_t n = 64 * 1024;
    const auto corpus = calibration_corpus(n);
    ASSERT_EQ(corpus.size(), corpus_kinds.size());
    EXPECT_EQ(corpus, calibration_corpus(n));
    for (const auto& sample : corpus)
        EXPECT_EQ(sample.size(), n);
    // text and binary compress, the already-compressed kind does not, under every codec.
    for (const codec_descriptor* c : all_codecs()) {
        const int level = c->default_level;
        EXPECT_LT(compressed_nbytes(*c, corpus[0].substr(0, test_input_nbytes(*c, level)), level),
                  test_input_nbytes(*c, level) * 6 / 10)
            << c->name;
        EXPECT_LT(compressed_nbytes(*c, corpus[1].substr(0, test_input_nbytes(*c, level)), level),
                  test_input_nbytes(*c, level) * 8 / 10)
            << c->name;
        EXPECT_GT(compressed_nbytes(*c, corpus[2].substr(0, test_input_nbytes(*c, level)), level),
                  test_input_nbytes(*c, level) * 99 / 100)
            << c->name;
    }
}

TEST(costs, a_measurement_is_cpu_time_per_byte_of_the_slice_it_used) {
    const std::string sample = text_bytes(256 * 1024, 6);
    const calibration_options quick{.sample_nbytes = sample.size(),
                                    .first_slice_nbytes = 4096,
                                    .min_run_ms = 0.5,
                                    .min_total_ms = 1,
                                    .max_runs = 3};
    for (const codec_descriptor* c : all_codecs()) {
        const auto ns = measure_ns_per_byte(*c, c->min_level, sample, quick);
        EXPECT_GT(ns.compress, 0) << c->name;
        EXPECT_LT(ns.compress, 1e6) << c->name; // under a millisecond per byte
        EXPECT_GT(ns.decompress, 0) << c->name;
        EXPECT_LT(ns.decompress, 1e6) << c->name;
    }
    EXPECT_THROW(measure_ns_per_byte(*all_codecs().front(), 1, "", quick), std::invalid_argument);
}

// A derived codec's size must equal its base's plus the fixed framing exactly, or the report's
// derived sizes would be wrong: compare the real streams (gzip and zlib from zlib itself).
TEST(derived_sizes, equal_the_base_plus_the_framing_at_every_level) {
    std::vector<std::string> inputs = {"", "a", "abc"};
    for (std::uint32_t seed = 0; seed < 8; ++seed) {
        inputs.push_back(text_bytes(1'000 + seed * 7'919, seed));
        inputs.push_back(random_bytes(500 + seed * 3'001, seed));
        inputs.push_back(run_bytes(2'000 + seed * 5'003, seed));
    }
    const auto derived = codecs_where([](const codec_descriptor& c) { return !!c.derived_from; });
    ASSERT_FALSE(derived.empty());
    for (const codec_descriptor* c : derived)
        for (const auto& in : inputs)
            for (int level = c->min_level; level <= c->max_level; ++level)
                EXPECT_EQ(compressed_nbytes(*c, in, level),
                          compressed_nbytes(*c->derived_from, in, level) +
                              c->derived_overhead_nbytes)
                    << c->name << ':' << level << ", " << in.size() << " bytes";
}

std::size_t size_from_pieces(const codec_descriptor& c, const std::string& in, int level) {
    std::uint64_t nbits = 0;
    for (auto piece : c.split(in, level))
        nbits += c.piece_nbits(compress_to_string(c, piece, level), level);
    return c.assemble_nbytes(nbits, level);
}

// The report compresses a splitting codec's pieces in parallel; the reassembled size must be
// exactly the single-stream size, on inputs that span several pieces, run-heavy ones included.
TEST(split_codecs, reassembled_size_equals_single_stream_size) {
    const auto splitting = codecs_where([](const codec_descriptor& c) { return !!c.split; });
    ASSERT_FALSE(splitting.empty());
    for (const codec_descriptor* c : splitting) {
        int cases = 0, multi_piece = 0;
        auto check = [&](const std::string& in, int level) {
            EXPECT_EQ(size_from_pieces(*c, in, level), compressed_nbytes(*c, in, level))
                << c->name << ':' << level << ", " << in.size() << " bytes";
            multi_piece += c->split(in, level).size() > 1;
            ++cases;
        };
        for (std::uint32_t seed = 0; seed < 18; ++seed) {
            const std::size_t n = 150'000 + seed * 23'417;
            const int level = c->min_level + static_cast<int>(seed % 2); // the smallest pieces
            // Runs shrink under run-length stages, so run-heavy inputs are made longer to
            // still span several pieces.
            for (const auto& in :
                 {text_bytes(n, seed), run_bytes(n * 8, seed), random_bytes(n, seed)})
                check(in, level);
        }
        // Runs of exactly the lengths where bzip2's run-length stage changes behaviour, long
        // enough that piece boundaries fall among them (about 250 kB after that stage).
        for (std::size_t run : {3u, 4u, 5u, 251u, 255u, 256u, 259u, 511u}) {
            const std::size_t encoded_nbytes = (run / 255) * 5 + (run % 255 < 4 ? run % 255 : 5);
            std::string in;
            for (std::size_t i = 0; in.size() < 250'000 * run / encoded_nbytes; ++i)
                in.append(run, static_cast<char>('a' + i % 2));
            check(in, c->min_level);
        }
        for (const std::string& edge :
             {std::string(), std::string("z"), std::string(99'981, 'q') + "r"})
            check(edge, c->min_level);
        EXPECT_GE(cases, 50) << c->name;
        EXPECT_GE(multi_piece, 40) << c->name;
    }
}

TEST(split_codecs, pieces_cover_the_input_in_order) {
    const std::string in = text_bytes(700'000, 9);
    for (const codec_descriptor* c :
         codecs_where([](const codec_descriptor& d) { return !!d.split; })) {
        const auto pieces = c->split(in, c->min_level);
        ASSERT_GT(pieces.size(), 2u) << c->name;
        std::size_t offset = 0;
        for (auto p : pieces) {
            EXPECT_EQ(p.data(), in.data() + offset) << c->name;
            offset += p.size();
        }
        EXPECT_EQ(offset, in.size()) << c->name;
    }
}

// The split test compares with the codec's own streaming output; this ties that stream to
// libbz2's one-shot compressor, byte for byte.
TEST(bzip2, stream_equals_libbz2_one_shot_output) {
    const auto& bz = codec_named("bzip2");
    for (std::uint32_t seed = 0; seed < 4; ++seed)
        for (const auto& in : {text_bytes(300'000, seed), run_bytes(900'000, seed)})
            for (int level : {1, 9}) {
                std::string out(in.size() + in.size() / 100 + 600, '\0');
                unsigned out_n = static_cast<unsigned>(out.size());
                ASSERT_EQ(BZ2_bzBuffToBuffCompress(out.data(), &out_n, const_cast<char*>(in.data()),
                                                   static_cast<unsigned>(in.size()), level, 0, 0),
                          BZ_OK);
                out.resize(out_n);
                EXPECT_EQ(compress_to_string(bz, in, level), out)
                    << "seed " << seed << ", " << in.size() << " bytes, level " << level;
            }
}

} // namespace
} // namespace compresstest
