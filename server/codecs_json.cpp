// The /api/codecs document: every registered codec, the default panel and the input limits.
#include "codecs_json.hpp"

#include "codec/registry.hpp"
#include "report.hpp"

#include <boost/json.hpp>

namespace compresstest {

std::string codecs_json(const config& c) {
    boost::json::array codecs;
    for (const codec_descriptor* d : all_codecs())
        codecs.push_back({{"name", d->name},
                          {"content_coding", d->content_coding},
                          {"library", d->library},
                          {"min_level", d->min_level},
                          {"default_level", d->default_level},
                          {"max_level", d->max_level}});
    boost::json::array default_entries;
    for (const auto& e : default_panel())
        default_entries.push_back({{"codec", e.codec->name}, {"level", e.level}});
    return boost::json::serialize(boost::json::object{
               {"codecs", std::move(codecs)},
               {"default_panel", std::move(default_entries)},
               {"max_input_nbytes", c.max_input_nbytes},
               {"max_panel_cpu_ms", static_cast<std::int64_t>(c.max_panel_cpu_ms)}}) +
           "\n";
}

} // namespace compresstest
