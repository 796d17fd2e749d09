// Properties of the report: panel syntax, sizes equal to real compressors, parallel fan-out.
#include "codec/costs.hpp"
#include "codec/registry.hpp"
#include "inputs.hpp"
#include "report.hpp"
#include "thread_pool.hpp"
#include "wire.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace compresstest {
namespace {

std::string entry(const codec_descriptor& c, int level) {
    return std::string(c.name) + ":" + std::to_string(level);
}

// The first registered codec with at least three levels, for the syntax tests.
const codec_descriptor& ranged_codec() {
    for (const codec_descriptor* c : all_codecs())
        if (c->max_level - c->min_level >= 2) return *c;
    throw std::logic_error("no codec with three levels");
}

// Every codec at its lowest and its default level (the cheap ones: a quick real panel).
panel low_and_default_levels() {
    std::string spec;
    for (const codec_descriptor* c : all_codecs())
        spec += entry(*c, c->min_level) + "," + entry(*c, c->default_level) + ",";
    return *parse_panel(spec);
}

TEST(panel, ranges_bare_names_and_duplicates) {
    const codec_descriptor& a = ranged_codec();
    const codec_descriptor& b = *all_codecs().back();
    const int lo = a.min_level;
    auto p =
        parse_panel(std::string(a.name) + ":" + std::to_string(lo) + "-" + std::to_string(lo + 2) +
                    "," + std::string(b.name) + "," + entry(a, lo + 1));
    ASSERT_TRUE(p) << p.err().message;
    EXPECT_EQ(format_panel(*p), entry(a, lo) + "," + entry(a, lo + 1) + "," + entry(a, lo + 2) +
                                    "," + entry(b, b.default_level));
}

TEST(panel, all_is_every_codec_at_every_level) {
    auto p = parse_panel("all");
    ASSERT_TRUE(p);
    std::size_t expected = 0;
    for (const codec_descriptor* c : all_codecs())
        expected += c->max_level - c->min_level + 1;
    EXPECT_EQ(p->size(), expected);
}

TEST(panel, default_panel_holds_the_original_entries_and_is_the_documented_one) {
    const panel& p = default_panel();
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(with_original_entries(p), p);
    EXPECT_EQ(*parse_panel(format_panel(p)), p);
    std::ifstream f(COMPRESSTEST_SOURCE_DIR "/README.md");
    std::ostringstream readme;
    readme << f.rdbuf();
    EXPECT_NE(readme.str().find("`" + format_panel(p) + "`"), std::string::npos)
        << "README.md should state the default panel " << format_panel(p);
}

TEST(panel, with_original_entries_appends_only_what_is_missing) {
    const codec_descriptor& first = *all_codecs().front();
    const panel one = *parse_panel(entry(first, first.min_level));
    const panel p = with_original_entries(one);
    ASSERT_GE(p.size(), one.size());
    EXPECT_EQ(p.front(), one.front());
    for (const auto& k : original_keys)
        EXPECT_EQ(std::count(p.begin(), p.end(), panel_entry{&codec_named(k.codec), k.level}), 1)
            << k.key;
    EXPECT_EQ(with_original_entries(p), p);
}

TEST(panel, every_malformed_spec_is_an_unprocessable_error_with_a_reason) {
    const codec_descriptor& c = ranged_codec();
    const std::string name(c.name);
    const std::string range = std::to_string(c.min_level) + " to " + std::to_string(c.max_level);
    const std::pair<std::string, std::string> bad[] = {
        {"", "empty"},
        {entry(c, c.min_level - 1), range},
        {entry(c, c.max_level + 1), range},
        {name + ":" + std::to_string(c.min_level) + "-" + std::to_string(c.max_level + 1), range},
        {name + ":" + std::to_string(c.min_level + 1) + "-" + std::to_string(c.min_level),
         "bad level"},
        {name + ":x", "bad level"},
        {name + ":", "bad level"},
        {"nope:1", "unknown codec"},
        {entry(c, c.min_level) + ",," + entry(c, c.min_level), "empty"},
        {name + ":1-", "bad level"},
        {name + ":-1", "bad level"},
        {name + ":1:2", "bad level"},
    };
    for (const auto& [spec, reason] : bad) {
        auto p = parse_panel(spec);
        ASSERT_FALSE(p) << spec;
        EXPECT_EQ(p.err().kind, error_kind::unprocessable) << spec;
        EXPECT_NE(p.err().message.find(reason), std::string::npos)
            << spec << " → " << p.err().message;
    }
    EXPECT_FALSE(parse_panel(std::string(2000, 'g')));
}

TEST(report, sizes_equal_real_compressor_output_for_exactly_the_panel) {
    thread_pool pool(3);
    const std::string in = test::text_bytes(300'000, 7);
    const panel p = low_and_default_levels();
    auto r = run_report(in, p, pool.executor());
    ASSERT_TRUE(r) << r.err().message;
    EXPECT_EQ(r->original_size, in.size());
    ASSERT_EQ(r->results.size(), p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
        const auto& e = r->results[i];
        EXPECT_EQ(e.codec, p[i].codec);
        EXPECT_EQ(e.level, p[i].level);
        EXPECT_EQ(e.size, compressed_nbytes(*e.codec, in, e.level)) << entry(*e.codec, e.level);
        EXPECT_GT(e.compress.median_ms, 0);
    }
}

// Each operation runs until its runs reach the floor, so a single run is a long one; on a
// 2 KB input every figure is a real measurement.
TEST(report, on_a_2kb_input_every_entry_is_timed_in_cpu_time_to_the_floor) {
    thread_pool pool(2);
    const std::string in = test::text_bytes(2'000, 12);
    const measure_options options{.timing_floor_ms = 2, .max_runs = 5'000};
    auto r = run_report(in, low_and_default_levels(), pool.executor(), options);
    ASSERT_TRUE(r) << r.err().message;
    for (const auto& e : r->results)
        for (const timing& t : {e.compress, e.decompress}) {
            EXPECT_GT(t.min_ms, 0) << entry(*e.codec, e.level);
            EXPECT_LE(t.min_ms, t.median_ms) << entry(*e.codec, e.level);
            EXPECT_GE(t.runs, 1) << entry(*e.codec, e.level);
            EXPECT_LE(t.runs, options.max_runs) << entry(*e.codec, e.level);
        }
    // Compression runs to half the floor, decompression until the entry has all of it: one run
    // of each is a long one.
    for (const auto& e : r->results) {
        if (e.compress.runs == 1) {
            EXPECT_GE(e.compress.median_ms, options.timing_floor_ms / 2)
                << entry(*e.codec, e.level);
            if (e.decompress.runs == 1) {
                EXPECT_GE(e.compress.median_ms + e.decompress.median_ms, options.timing_floor_ms)
                    << entry(*e.codec, e.level);
            }
        }
    }
}

// A compression that alone has the entry's floor of measured time leaves its decompression one
// run: the floor is the entry's, not each operation's.
TEST(report, a_long_compression_leaves_its_decompression_one_run) {
    const codec_descriptor& c = *all_codecs().front();
    const panel p = *parse_panel(entry(c, c.max_level));
    const std::string in = test::text_bytes(300'000, 14);
    thread_pool pool(2);
    auto once = run_report(in, p, pool.executor(), {.timing_floor_ms = 0});
    ASSERT_TRUE(once) << once.err().message;
    const double compress_ms = once->results[0].compress.median_ms;
    const double decompress_ms = once->results[0].decompress.median_ms;
    ASSERT_LT(decompress_ms, compress_ms / 2) << "a codec whose decompression is the quicker";
    // 0.6 of one compression: it runs once however it drifts by up to 40 %, and has the floor.
    auto floored = run_report(in, p, pool.executor(), {.timing_floor_ms = 0.6 * compress_ms});
    ASSERT_TRUE(floored) << floored.err().message;
    EXPECT_EQ(floored->results[0].compress.runs, 1);
    EXPECT_EQ(floored->results[0].decompress.runs, 1) << compress_ms << " / " << decompress_ms;
}

// A split codec's entry is timed as a whole: its blocks share the floor, so an entry whose one
// run (the sum of its blocks) is twice the floor runs once, however many blocks it has.
TEST(report, a_split_codecs_blocks_share_the_timing_floor) {
    const codec_descriptor* split = nullptr;
    for (const codec_descriptor* c : all_codecs())
        if (c->split) split = c;
    ASSERT_NE(split, nullptr) << "no codec splits its input";
    const int level = split->min_level;
    const std::string in = test::text_bytes(600'000, 13);
    ASSERT_GE(split->split(in, level).size(), 4u);
    thread_pool pool(2);
    const panel p = *parse_panel(entry(*split, level));
    auto once = run_report(in, p, pool.executor(), {.timing_floor_ms = 0});
    ASSERT_TRUE(once) << once.err().message;
    const timing one_run[] = {once->results[0].compress, once->results[0].decompress};
    auto floored =
        run_report(in, p, pool.executor(),
                   {.timing_floor_ms = std::min(one_run[0].median_ms, one_run[1].median_ms) / 2});
    ASSERT_TRUE(floored) << floored.err().message;
    EXPECT_EQ(floored->results[0].compress.runs, 1) << "one run was " << one_run[0].median_ms;
    EXPECT_EQ(floored->results[0].decompress.runs, 1) << "one run was " << one_run[1].median_ms;
}

// The frontier's defining property, for compression and for decompression: its entries do not
// beat each other, every other entry is beaten by one of them, and the smallest and the fastest
// entries are on it.
TEST(report, pareto_flags_mark_exactly_the_entries_no_other_beats_on_size_and_speed) {
    thread_pool pool(2);
    const std::string in = test::text_bytes(20'000, 13);
    auto r = run_report(in, low_and_default_levels(), pool.executor(), {.timing_floor_ms = 1});
    ASSERT_TRUE(r) << r.err().message;
    using flag = bool entry_result::*;
    for (const auto& pair : {std::pair<timing entry_result::*, flag>{
                                 &entry_result::compress, &entry_result::pareto_compress},
                             {&entry_result::decompress, &entry_result::pareto_decompress}}) {
        // Plain variables, not a structured binding: clang 14 cannot capture those.
        const auto op = pair.first;
        const auto on = pair.second;
        auto ms = [op](const entry_result& e) { return (e.*op).median_ms; };
        auto beats = [&](const entry_result& a, const entry_result& b) {
            return a.size <= b.size && ms(a) <= ms(b) && (a.size < b.size || ms(a) < ms(b));
        };
        const auto& all = r->results;
        for (const auto& e : all) {
            const bool beaten = std::any_of(all.begin(), all.end(),
                                            [&](const entry_result& o) { return beats(o, e); });
            EXPECT_EQ(e.*on, !beaten) << entry(*e.codec, e.level);
        }
        auto smallest = std::min_element(all.begin(), all.end(), [&](const auto& a, const auto& b) {
            return std::pair(a.size, ms(a)) < std::pair(b.size, ms(b));
        });
        auto fastest = std::min_element(all.begin(), all.end(), [&](const auto& a, const auto& b) {
            return std::pair(ms(a), a.size) < std::pair(ms(b), b.size);
        });
        EXPECT_TRUE((*smallest).*on);
        EXPECT_TRUE((*fastest).*on);
    }
    auto v = boost::json::parse(to_json(*r)).as_object();
    const auto& first = v["results"].as_array()[0].as_object();
    EXPECT_EQ(first.at("pareto").at("compress").as_bool(), r->results[0].pareto_compress);
    EXPECT_EQ(first.at("pareto").at("decompress").as_bool(), r->results[0].pareto_decompress);
}

// Each entry is handed over once, as its compression finishes, on a compute thread, before
// done, with the figures the report then holds (Pareto flags aside: known only at the end).
TEST(report, on_entry_reports_every_entry_once_before_done_on_the_thread_that_finished_it) {
    thread_pool pool(3);
    const std::string in = test::text_bytes(50'000, 14);
    const panel p = low_and_default_levels();
    std::mutex mutex;
    std::vector<std::pair<entry_result, std::thread::id>> seen;
    bool done_called = false;
    std::promise<result<report>> promise;
    run_report_async(
        in, p, pool.executor(),
        [&](result<report> r) {
            {
                std::lock_guard lock(mutex);
                done_called = true;
            }
            promise.set_value(std::move(r));
        },
        {.timing_floor_ms = 1},
        [&](const entry_result& e) {
            std::lock_guard lock(mutex);
            EXPECT_FALSE(done_called) << entry(*e.codec, e.level);
            seen.emplace_back(e, std::this_thread::get_id());
        });
    auto r = promise.get_future().get();
    ASSERT_TRUE(r) << r.err().message;
    ASSERT_EQ(seen.size(), p.size());
    for (const auto& e : r->results) {
        const auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& s) {
            return s.first.codec == e.codec && s.first.level == e.level;
        });
        ASSERT_NE(it, seen.end()) << entry(*e.codec, e.level);
        EXPECT_EQ(std::count_if(seen.begin(), seen.end(),
                                [&](const auto& s) {
                                    return s.first.codec == e.codec && s.first.level == e.level;
                                }),
                  1);
        EXPECT_EQ(it->first.size, e.size);
        EXPECT_EQ(it->first.compress.median_ms, e.compress.median_ms);
        EXPECT_EQ(it->first.decompress_peak_nbytes, e.decompress_peak_nbytes);
        EXPECT_NE(it->second, std::this_thread::get_id());
        // The streamed line is the summary's entry but for the Pareto flags.
        entry_result flagged = it->first;
        flagged.pareto_compress = e.pareto_compress;
        flagged.pareto_decompress = e.pareto_decompress;
        EXPECT_EQ(to_json(flagged, in.size()), to_json(e, in.size()));
    }
}

TEST(report, cost_estimate_counts_repeats_and_decompression) {
    const std::size_t n = 2'000;
    const measure_options once{.timing_floor_ms = 0, .max_runs = 1};
    // max_runs out of the way: at 10,000 the quickest decompressions stop under the floor.
    const measure_options floored{.timing_floor_ms = 20, .max_runs = 1'000'000'000};
    const panel every_entry = *parse_panel("all");
    for (const auto& e : every_entry) {
        const panel p = {e};
        const double compress_ms = n * cost_ns_per_byte(*e.codec, e.level) / 1e6;
        // Decompression is counted on top of compression.
        EXPECT_GT(estimate_cpu_ms(p, n, once), compress_ms) << entry(*e.codec, e.level);
        // Repeats to the floor: on a small input compression reaches half of it, decompression
        // the rest, so that the entry has all of it (compression alone would be half).
        EXPECT_GE(estimate_cpu_ms(p, n, floored), floored.timing_floor_ms)
            << entry(*e.codec, e.level);
        EXPECT_GE(estimate_cpu_ms(p, n, floored), estimate_cpu_ms(p, n, once))
            << entry(*e.codec, e.level);
    }
}

TEST(report, the_input_aware_estimate_samples_only_large_inputs_not_bound_by_the_floor) {
    const panel p = low_and_default_levels();
    const estimate_options e;
    // Small inputs: the table, whatever the codec.
    for (const auto& est : estimate_compressions(p, test::text_bytes(e.min_input_nbytes, 5), e))
        EXPECT_FALSE(est.sampled) << est.base->name;
    const std::string big = test::text_bytes(2 * e.min_input_nbytes, 5);
    const auto ests = estimate_compressions(p, big, e);
    EXPECT_EQ(ests.size(), estimate_compressions(p, "", e).size());
    bool any_sampled = false;
    for (const auto& est : ests) {
        any_sampled |= est.sampled;
        EXPECT_GT(est.compress_ns_per_byte, 0) << est.base->name;
        EXPECT_GT(est.decompress_ns_per_byte, 0) << est.base->name;
        EXPECT_DOUBLE_EQ(est.compress_run_ms, big.size() * est.compress_ns_per_byte / 1e6);
    }
    // Some compression is sampled for certain when the budget is ample for a few mid-cost ones
    // (under a sanitizer, the costliest of p, sampled first, can spend the default budget).
    estimate_options ample = e;
    ample.max_sampling_ms = 600;
    ample.max_entry_sampling_ms = 200;
    for (const auto& est : estimate_compressions(*parse_panel("gzip:6,brotli:5"), big, ample))
        any_sampled |= est.sampled;
    EXPECT_TRUE(any_sampled);
    // Runs the table puts well under the timing floor are charged the floor: not sampled.
    estimate_options floor_bound = e;
    floor_bound.timing_floor_ms = 1e9;
    for (const auto& est : estimate_compressions(p, big, floor_bound))
        EXPECT_FALSE(est.sampled) << est.base->name;
    // The repeats are charged as for the table's estimate: never under the floor per entry.
    EXPECT_GE(estimate_cpu_ms(ests, {.timing_floor_ms = 20}), 20.0 * ests.size());
}

// Found by the sanitizer build: a run that costs more than the budget had left (runs on other
// threads spend it too) took the budget below zero, and the slices it could still afford were
// a negative double cast to an unsigned count.
TEST(report, a_sampling_budget_overspent_by_its_last_run_samples_no_further) {
    thread_pool pool(2);
    const std::string big = test::text_bytes(1'200'000, 8);
    const panel p = *parse_panel("all");
    for (const double budget_ms : {0.01, 0.1, 0.3, 1.0, 3.0}) {
        estimate_options e;
        e.max_sampling_ms = budget_ms;
        std::promise<std::vector<compression_estimate>> done;
        estimate_compressions_async(
            p, big, pool.executor(),
            [&](std::vector<compression_estimate> ests) { done.set_value(std::move(ests)); }, e);
        for (const auto& est : done.get_future().get()) {
            EXPECT_TRUE(std::isfinite(est.compress_run_ms) && est.compress_run_ms > 0)
                << budget_ms << ' ' << est.base->name << ':' << est.level;
            EXPECT_TRUE(std::isfinite(est.decompress_run_ms) && est.decompress_run_ms > 0)
                << budget_ms << ' ' << est.base->name << ':' << est.level;
        }
        for (const auto& est : estimate_compressions(p, big, e))
            EXPECT_GT(est.compress_run_ms, 0) << budget_ms << ' ' << est.base->name;
    }
}

TEST(report, every_codec_and_level_round_trips_verified_with_its_peak_memory) {
    thread_pool pool(2);
    const std::string in = test::text_bytes(2'000, 11);
    auto r = run_report(in, *parse_panel("all"), pool.executor(), {.timing_floor_ms = 0});
    ASSERT_TRUE(r) << r.err().message;
    for (const auto& e : r->results) {
        EXPECT_TRUE(e.verified) << entry(*e.codec, e.level);
        const codec_descriptor& base = base_of(*e.codec);
        EXPECT_EQ(e.compress_peak_nbytes.has_value(), base.compress_metered);
        EXPECT_EQ(e.decompress_peak_nbytes.has_value(), base.decompress_metered);
        EXPECT_GT(e.compress_peak_nbytes.value_or(1), 0u) << entry(*e.codec, e.level);
        EXPECT_GT(e.decompress_peak_nbytes.value_or(1), 0u) << entry(*e.codec, e.level);
    }
}

// A codec whose decompressor gives back something else: the report must refuse to give
// figures for it (our bug, a 500), naming the codec and level.
void wrong_decompress(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                      memory_meter* meter) {
    all_codecs().front()->decompress(in, max_out_nbytes, out, meter);
    if (!out.empty()) out.back() ^= 1;
}

TEST(report, a_round_trip_mismatch_is_an_internal_error_naming_codec_and_level) {
    const codec_descriptor& real = *all_codecs().front();
    codec_descriptor broken = real; // its own compressions: nothing derived or split
    broken.name = "broken";
    broken.decompress = wrong_decompress;
    broken.derived_from = nullptr;
    broken.derived_overhead_nbytes = 0;
    broken.split = nullptr;
    thread_pool pool(2);
    auto r = run_report("some input", {{&broken, broken.max_level}}, pool.executor());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.err().kind, error_kind::internal);
    EXPECT_NE(r.err().message.find(entry(broken, broken.max_level)), std::string::npos)
        << r.err().message;
}

TEST(report, json_carries_each_original_key_exactly_when_the_panel_holds_its_entry) {
    thread_pool pool(2);
    const std::string in = "hello hello hello hello";
    const codec_descriptor& first = *all_codecs().front();
    const panel lean = *parse_panel(entry(first, first.min_level));
    for (const panel& p : {lean, with_original_entries(lean), default_panel()}) {
        auto r = run_report(in, p, pool.executor());
        ASSERT_TRUE(r);
        auto v = boost::json::parse(to_json(*r)).as_object();
        for (auto key : {"original_size", "results", "elapsed_ms"})
            EXPECT_TRUE(v.contains(key)) << key;
        EXPECT_EQ(v["original_size"].as_int64(), 23);
        for (const auto& k : original_keys) {
            const bool held = std::find(p.begin(), p.end(),
                                        panel_entry{&codec_named(k.codec), k.level}) != p.end();
            ASSERT_EQ(v.contains(k.key), held) << k.key << " for " << format_panel(p);
            if (!held) continue;
            EXPECT_EQ(v[k.key].as_int64(), static_cast<std::int64_t>(compressed_nbytes(
                                               codec_named(k.codec), in, k.level)));
        }
        const auto& results = v["results"].as_array();
        ASSERT_EQ(results.size(), p.size());
        EXPECT_EQ(results[0].at("codec").as_string(), p[0].codec->name);
        EXPECT_EQ(results[0].at("level").as_int64(), p[0].level);
        EXPECT_EQ(results[0].at("size").as_int64(), static_cast<std::int64_t>(r->results[0].size));
        EXPECT_TRUE(results[0].at("verified").as_bool());
        EXPECT_TRUE(results[0].at("decompress_ms").is_number());
    }
}

// Keys are added, never renamed or removed: every entry carries the original keys and the
// measurement keys, each with its type (peak memory null exactly where there is no hook).
TEST(report, json_entries_keep_the_original_keys_and_carry_the_measurements) {
    thread_pool pool(2);
    const std::string in = test::text_bytes(3'000, 15);
    auto r = run_report(in, low_and_default_levels(), pool.executor(), {.timing_floor_ms = 1});
    ASSERT_TRUE(r) << r.err().message;
    auto v = boost::json::parse(to_json(*r)).as_object();
    EXPECT_TRUE(v.at("elapsed_ms").is_number());
    const auto& results = v.at("results").as_array();
    ASSERT_EQ(results.size(), r->results.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& e = results[i].as_object();
        const entry_result& want = r->results[i];
        const std::string name = entry(*want.codec, want.level);
        EXPECT_EQ(e.at("codec").as_string(), want.codec->name) << name;
        EXPECT_EQ(e.at("level").as_int64(), want.level) << name;
        EXPECT_EQ(e.at("size").as_int64(), static_cast<std::int64_t>(want.size)) << name;
        for (auto key : {"ratio", "compress_ms", "decompress_ms", "compress_min_ms",
                         "decompress_min_ms", "compress_mb_s", "decompress_mb_s"})
            EXPECT_TRUE(e.at(key).is_number()) << name << ' ' << key;
        EXPECT_GE(e.at("runs").as_int64(), 1) << name;
        EXPECT_GE(e.at("decompress_runs").as_int64(), 1) << name;
        EXPECT_TRUE(e.at("verified").as_bool()) << name;
        const codec_descriptor& base = base_of(*want.codec);
        EXPECT_EQ(e.at("compress_peak_bytes").is_null(), !base.compress_metered) << name;
        EXPECT_EQ(e.at("decompress_peak_bytes").is_null(), !base.decompress_metered) << name;
        EXPECT_TRUE(e.at("pareto").at("compress").is_bool()) << name;
        EXPECT_TRUE(e.at("pareto").at("decompress").is_bool()) << name;
        // The wire view, exactly for the HTTP content-codings, by its formula.
        ASSERT_EQ(e.contains("wire"), !want.codec->content_coding.empty()) << name;
        if (e.contains("wire")) {
            const auto& w = e.at("wire").as_object();
            const auto f =
                wire::figures_of(wire::report_content_type, want.codec->content_coding, want.size);
            EXPECT_EQ(w.at("content_encoding").as_string(), want.codec->content_coding);
            EXPECT_EQ(w.at("response_bytes").as_int64(),
                      static_cast<std::int64_t>(
                          want.size + wire::response_head(wire::report_content_type,
                                                          want.codec->content_coding, want.size)
                                          .size()))
                << name;
            EXPECT_EQ(w.at("segments_mss1460").as_int64(),
                      static_cast<std::int64_t>(f.segments_mss1460));
            EXPECT_EQ(w.at("round_trips_mss536").as_int64(),
                      static_cast<std::int64_t>(f.round_trips_mss536));
        }
    }
}

TEST(report, wire_view_names_what_a_server_would_send_for_the_accept_encoding) {
    thread_pool pool(2);
    const std::string in = test::text_bytes(20'000, 3);
    auto r = run_report(in, *parse_panel("gzip:9,brotli:11,zstd:19,lz4:1"), pool.executor(),
                        {.timing_floor_ms = 0});
    ASSERT_TRUE(r);
    auto wire_of = [&](std::optional<std::string_view> ae) {
        return boost::json::parse(to_json(*r, ae)).at("wire").as_object();
    };
    auto smallest = [&](std::initializer_list<std::string_view> codecs) {
        const entry_result* best = nullptr;
        for (const auto& e : r->results)
            for (auto c : codecs)
                if (e.codec->name == c && (!best || e.size < best->size)) best = &e;
        return std::string(best->codec->name);
    };
    EXPECT_EQ(wire_of("gzip, deflate, br, zstd").at("chosen").at("codec").as_string(),
              smallest({"gzip", "brotli", "zstd"}));
    EXPECT_EQ(wire_of("gzip").at("chosen").at("codec").as_string(), "gzip");
    EXPECT_EQ(wire_of("gzip;q=0.5, zstd").at("chosen").at("codec").as_string(), "zstd");
    auto refused = wire_of("identity;q=0");
    EXPECT_TRUE(refused.at("chosen").is_null());
    auto identity = wire_of("");
    EXPECT_TRUE(identity.at("chosen").at("codec").is_null());
    EXPECT_EQ(identity.at("chosen").at("content_encoding").as_string(), "identity");
    EXPECT_EQ(identity.at("identity").at("response_bytes").as_int64(),
              static_cast<std::int64_t>(
                  wire::response_nbytes(wire::report_content_type, "identity", in.size())));
    EXPECT_EQ(wire_of("br").at("accept_encoding").as_string(), "br");
    EXPECT_TRUE(wire_of(std::nullopt).at("accept_encoding").is_null());
    // The client's header is quoted as a JSON string, whatever it holds.
    EXPECT_EQ(wire_of("\"\\\x01\xff").at("accept_encoding").as_string(), "\"\\\x01\xEF\xBF\xBD");
}

TEST(report, empty_input_gives_every_codec_its_empty_stream_size) {
    thread_pool pool(2);
    const panel p = low_and_default_levels();
    auto r = run_report("", p, pool.executor());
    ASSERT_TRUE(r);
    // Sizes, but no ratio of nothing.
    const auto json = boost::json::parse(to_json(*r));
    for (const auto& e : json.at("results").as_array()) {
        EXPECT_TRUE(e.at("ratio").is_null());
        EXPECT_TRUE(e.at("compress_mb_s").is_null()); // no speed either
    }
    for (const auto& e : r->results) {
        EXPECT_EQ(e.size, compressed_nbytes(*e.codec, "", e.level)) << entry(*e.codec, e.level);
        EXPECT_GE(e.compress.runs, 1) << entry(*e.codec, e.level);
        EXPECT_GE(e.decompress.runs, 1) << entry(*e.codec, e.level);
    }
}

// The fan-out must use several threads at once, and each distinct compression (or piece of a
// splitting codec) runs once: nothing beyond the panel.
TEST(report, runs_exactly_the_panels_compressions_in_parallel_on_the_callers_executor) {
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
    std::set<std::pair<const codec_descriptor*, int>> distinct;
    int expected_tasks = 1; // the planning task
    for (const auto& e : default_panel())
        if (distinct.insert({&base_of(*e.codec), e.level}).second) {
            const codec_descriptor& base = base_of(*e.codec);
            // Each piece's compression, then its decompression, is a task.
            expected_tasks +=
                2 * (base.split ? static_cast<int>(base.split(in, e.level).size()) : 1);
        }
    auto r = run_report(in, default_panel(), counting);
    ASSERT_TRUE(r);
    EXPECT_GE(peak.load(), 2);
    EXPECT_EQ(tasks.load(), expected_tasks);
    // A small input, whose work is nearly all repeats to the floor: its pieces are measured
    // interleaved, in one task after the planning one.
    tasks = 0;
    auto small = run_report(test::text_bytes(2'000, 3), default_panel(), counting);
    ASSERT_TRUE(small);
    EXPECT_EQ(tasks.load(), 2);
    for (const auto& e : small->results)
        EXPECT_TRUE(e.verified) << entry(*e.codec, e.level);
}

TEST(report, a_cancelled_report_stops_measuring_and_says_so) {
    thread_pool pool(2);
    const std::string in = test::text_bytes(1'500'000, 4);
    // More compressions than threads, so that some have not started when the first ends.
    for (const std::string_view spec : {"gzip:1,zstd:1,lz4:1,brotli:1,bzip2:1,deflate:6"}) {
        const std::string small = test::text_bytes(2'000, 4);
        for (const std::string* input : {&in, &small}) {
            // Cancelled once the first entry is known: the rest are skipped.
            std::atomic<bool> cancel{false};
            std::atomic<int> entries{0};
            std::promise<result<report>> promise;
            run_report_async(
                *input, *parse_panel(spec), pool.executor(),
                [&](result<report> r) { promise.set_value(std::move(r)); }, {},
                [&](const entry_result&) {
                    ++entries;
                    cancel = true;
                },
                [&] { return cancel.load(); });
            const auto r = promise.get_future().get();
            ASSERT_FALSE(r) << spec;
            EXPECT_EQ(r.err().kind, error_kind::timeout) << r.err().message; // not internal
            EXPECT_NE(r.err().message.find("cancelled"), std::string::npos) << r.err().message;
            // Two threads may each finish one entry before they look again.
            EXPECT_LE(entries.load(), 2) << spec << " on " << input->size() << " bytes";
        }
    }
}

TEST(report, cost_estimate_grows_with_input_and_counts_shared_work_once) {
    for (const codec_descriptor* c : all_codecs()) {
        if (!c->derived_from) continue;
        const auto p = parse_panel(entry(*c, c->max_level));
        const auto q =
            parse_panel(entry(*c, c->max_level) + "," + entry(*c->derived_from, c->max_level));
        ASSERT_TRUE(p && q);
        EXPECT_DOUBLE_EQ(estimate_cpu_ms(*p, 1'000'000), estimate_cpu_ms(*q, 1'000'000));
        EXPECT_GT(estimate_cpu_ms(*p, 2'000'000), estimate_cpu_ms(*p, 1'000'000));
    }
    EXPECT_GT(estimate_cpu_ms(*parse_panel("all"), 3'000'000),
              10 * estimate_cpu_ms(default_panel(), 3'000'000));
}

} // namespace
} // namespace compresstest
