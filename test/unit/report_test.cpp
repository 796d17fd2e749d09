// Properties of the report: panel syntax, sizes equal to real compressors, parallel fan-out.
#include "codec/registry.hpp"
#include "inputs.hpp"
#include "report.hpp"
#include "thread_pool.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace compresstest {
namespace {

const codec_descriptor& codec(std::string_view name) {
    return **find_codec(name);
}

TEST(panel, ranges_bare_names_and_duplicates) {
    auto p = parse_panel("gzip:1-3,zstd:3,brotli,gzip:2");
    ASSERT_TRUE(p) << p.err().message;
    EXPECT_EQ(format_panel(*p), "gzip:1,gzip:2,gzip:3,zstd:3,brotli:5");
}

TEST(panel, all_is_every_codec_at_every_level) {
    auto p = parse_panel("all");
    ASSERT_TRUE(p);
    std::size_t expected = 0;
    for (const codec_descriptor* c : all_codecs())
        expected += c->max_level - c->min_level + 1;
    EXPECT_EQ(p->size(), expected);
}

TEST(panel, default_panel_is_the_documented_one) {
    EXPECT_EQ(format_panel(default_panel()),
              "gzip:6,gzip:9,deflate:9,zlib:9,bzip2:9,zstd:3,brotli:5,lz4:1");
}

TEST(panel, every_malformed_spec_is_an_unprocessable_error_with_a_reason) {
    const std::pair<const char*, const char*> bad[] = {
        {"", "empty"},
        {"gzip:0", "1 to 9"},
        {"gzip:10", "1 to 9"},
        {"zstd:1-23", "1 to 22"},
        {"gzip:9-1", "bad level"},
        {"gzip:x", "bad level"},
        {"gzip:", "bad level"},
        {"nope:1", "unknown codec"},
        {"gzip:1,,zstd:1", "empty"},
        {"gzip:1-", "bad level"},
        {"gzip:-1", "bad level"},
        {"gzip:1:2", "bad level"},
    };
    for (auto [spec, reason] : bad) {
        auto p = parse_panel(spec);
        ASSERT_FALSE(p) << spec;
        EXPECT_EQ(p.err().kind, error_kind::unprocessable) << spec;
        EXPECT_NE(p.err().message.find(reason), std::string::npos)
            << spec << " → " << p.err().message;
    }
    EXPECT_FALSE(parse_panel(std::string(2000, 'g')));
}

TEST(report, sizes_equal_real_compressor_output_and_compat_keys_are_best_level) {
    thread_pool pool(3);
    const std::string in = test::text_bytes(300'000, 7);
    auto p = parse_panel("gzip:1-9,deflate:9,zlib:6,bzip2:1,bzip2:9,zstd:3,brotli:5,xz:1,lz4:1");
    ASSERT_TRUE(p);
    auto r = run_report(in, *p, pool.executor());
    ASSERT_TRUE(r) << r.err().message;
    EXPECT_EQ(r->original_size, in.size());
    ASSERT_EQ(r->results.size(), p->size());
    for (std::size_t i = 0; i < p->size(); ++i) {
        const auto& e = r->results[i];
        EXPECT_EQ(e.codec, (*p)[i].codec);
        EXPECT_EQ(e.level, (*p)[i].level);
        EXPECT_EQ(e.size, compressed_nbytes(*e.codec, in, e.level)) << e.codec->name << e.level;
        EXPECT_GT(e.compress_ms, 0);
    }
    EXPECT_EQ(r->gzip_size, compressed_nbytes(codec("gzip"), in, 9));
    EXPECT_EQ(r->bzip_size, compressed_nbytes(codec("bzip2"), in, 9));
    EXPECT_EQ(r->deflate_size, compressed_nbytes(codec("deflate"), in, 9));
}

TEST(report, json_has_the_original_keys_and_results) {
    thread_pool pool(2);
    auto r = run_report("hello hello hello hello", default_panel(), pool.executor());
    ASSERT_TRUE(r);
    auto v = boost::json::parse(to_json(*r)).as_object();
    for (auto key :
         {"original_size", "gzip_size", "bzip_size", "deflate_size", "results", "elapsed_ms"})
        EXPECT_TRUE(v.contains(key)) << key;
    EXPECT_EQ(v["original_size"].as_int64(), 23);
    const auto& results = v["results"].as_array();
    ASSERT_EQ(results.size(), default_panel().size());
    EXPECT_EQ(results[0].at("codec").as_string(), "gzip");
    EXPECT_EQ(results[0].at("level").as_int64(), 6);
    EXPECT_EQ(results[0].at("size").as_int64(), static_cast<std::int64_t>(r->results[0].size));
}

TEST(report, empty_input_gives_every_codec_its_empty_stream_size) {
    thread_pool pool(2);
    auto r = run_report("", default_panel(), pool.executor());
    ASSERT_TRUE(r);
    for (const auto& e : r->results)
        EXPECT_EQ(e.size, compressed_nbytes(*e.codec, "", e.level));
    EXPECT_EQ(r->bzip_size, 14u);
}

// The fan-out must use several threads at once, and each distinct compression runs once.
TEST(report, runs_entries_in_parallel_on_the_callers_executor) {
    std::atomic<int> running{0}, peak{0}, tasks{0};
    thread_pool pool(4);
    executor counting = [&](std::function<void()> task) {
        pool.post([&, task = std::move(task)] {
            const int now = ++running;
            int p = peak.load();
            while (now > p && !peak.compare_exchange_weak(p, now)) {
            }
            ++tasks;
            task();
            --running;
        });
    };
    const std::string in = test::text_bytes(1'500'000, 3);
    auto r = run_report(in, default_panel(), counting);
    ASSERT_TRUE(r);
    EXPECT_GE(peak.load(), 2);
    // 1 planning task + deflate:6, deflate:9, bzip2:9 (2 blocks), zstd:3, brotli:5, lz4:1.
    EXPECT_EQ(tasks.load(), 1 + 2 + 2 + 3);
}

TEST(report, cost_estimate_grows_with_input_and_counts_shared_work_once) {
    auto p = parse_panel("gzip:9");
    auto q = parse_panel("gzip:9,deflate:9,zlib:9");
    ASSERT_TRUE(p && q);
    EXPECT_DOUBLE_EQ(estimate_cpu_ms(*p, 1'000'000), estimate_cpu_ms(*q, 1'000'000));
    EXPECT_GT(estimate_cpu_ms(*p, 2'000'000), estimate_cpu_ms(*p, 1'000'000));
    EXPECT_GT(estimate_cpu_ms(*parse_panel("all"), 3'000'000),
              10 * estimate_cpu_ms(default_panel(), 3'000'000));
}

} // namespace
} // namespace compresstest
