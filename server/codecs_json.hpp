// The /api/codecs document: every registered codec with its levels' measured costs, the
// default panel, the input limits and the CPU budget's terms; built once, kept compressed.
#pragma once

#include "config/config.hpp"
#include "embedded.hpp"

#include <string>

namespace compresstest {

// Built once per app (it depends only on the registry and cfg).
std::string codecs_json(const config& cfg);

// A document made at start-up, held with its precompressed variants (gzip by zlib at level 9,
// brotli at 9) and a strong ETag from its bytes, so that it is served like an embedded file.
struct built_document {
    explicit built_document(std::string path, std::string body);
    built_document(const built_document&) = delete;
    built_document& operator=(const built_document&) = delete;

    const std::string path, identity, gzip, br, etag;
    const embedded_file file; // views of the strings above
};

} // namespace compresstest
