// The /api/codecs document: every registered codec, the default panel and the input limits.
#include "codecs_json.hpp"

#include "codec/costs.hpp"
#include "codec/registry.hpp"
#include "report.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cstdint>

namespace compresstest {

std::string codecs_json(const config& c) {
    boost::json::array codecs;
    for (const codec_descriptor* d : all_codecs()) {
        // What the CPU budget charges per input byte (report.hpp, estimate_cpu_ms), so that a
        // client can estimate a panel's cost before it sends the input.
        boost::json::array costs;
        for (int level = d->min_level; level <= d->max_level; ++level)
            costs.push_back({{"level", level},
                             {"compress_ns_per_byte", cost_ns_per_byte(*d, level)},
                             {"decompress_ns_per_byte", decompress_ns_per_byte(*d, level)}});
        boost::json::object codec{{"name", d->name},
                                  {"content_coding", d->content_coding},
                                  {"library", d->library},
                                  {"min_level", d->min_level},
                                  {"default_level", d->default_level},
                                  {"max_level", d->max_level},
                                  {"costs", std::move(costs)}};
        // gzip and zlib share deflate's compression: a panel holding several pays for it once.
        if (d->derived_from) codec["derived_from"] = d->derived_from->name;
        codecs.push_back(std::move(codec));
    }
    boost::json::array default_entries;
    for (const auto& e : default_panel())
        default_entries.push_back({{"codec", e.codec->name}, {"level", e.level}});
    return boost::json::serialize(boost::json::object{
               {"codecs", std::move(codecs)},
               {"default_panel", std::move(default_entries)},
               {"max_input_nbytes", c.max_input_nbytes},
               {"max_panel_cpu_ms", static_cast<std::int64_t>(c.max_panel_cpu_ms)},
               {"timing_floor_ms", c.timing_floor_ms},
               {"max_runs", measure_options{}.max_runs}}) +
           "\n";
}

namespace {

std::string compressed(std::string_view codec, int level, std::string_view body) {
    return compress_to_string(codec_named(codec), body, level);
}

// FNV-1a over the bytes: a strong validator for a document that changes only with them.
std::string etag_of(std::string_view body) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char ch : body)
        h = (h ^ ch) * 1099511628211ull;
    return fmt::format("\"{:016x}\"", h);
}

} // namespace

built_document::built_document(std::string path_, std::string body)
    : path(std::move(path_)), identity(std::move(body)), gzip(compressed("gzip", 9, identity)),
      // Quality 6: a Lambda start-up builds it. On this 10.6 kB document quality 6 took 0.15 ms
      // for 1,240 bytes; 9 took 13 ms (page faults in its 32 MiB hash table, three quarters of
      // the start-up) for 1,239; 11 took 12 ms for 1,105.
      br(compressed("brotli", 6, identity)),
      etag(etag_of(identity)), file{path, identity, gzip, {}, br, etag} {}

} // namespace compresstest
