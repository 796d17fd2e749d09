// Files compiled into the binary, each with its precompressed variants and an ETag.
#pragma once

#include <span>
#include <string_view>

namespace compresstest {

// Generated at build time by tools/embed.cpp; all views point to static storage.
struct embedded_file {
    std::string_view path;     // "/app.js"; "/index.html" is served as "/"
    std::string_view identity; // the file as written
    std::string_view gzip;     // gzip format, compressed by Zopfli
    std::string_view zlib;     // zlib format (the "deflate" content-coding), by Zopfli
    std::string_view br;       // brotli at quality 11
    std::string_view etag;     // strong ETag with quotes, from a hash of identity
};

// The TinySite page (core/tinysite_page/index.html).
std::span<const embedded_file> tinysite_files();
// The web UI (web/*).
std::span<const embedded_file> web_files();

} // namespace compresstest
