// libFuzzer target: the multipart parser must never crash, chunked streaming must agree with
// parse_form on the same Content-Type and body, and the delimiter search must find what its
// definition says while reading each byte at most twice.
#include "multipart.hpp"

#include "../unit/counting_scans.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mp = compresstest::multipart;

namespace {

// Tight limits (chosen half the time) stay below these so small inputs reach the limit paths.
constexpr std::uint64_t tight_max_parts = 4;
constexpr std::uint64_t tight_max_header_nbytes = 128;
constexpr std::uint64_t tight_max_name_nbytes = 16;
// Chunks are mostly tiny (to split delimiters and CRLFs) and sometimes large.
constexpr std::uint64_t small_chunk_nbytes = 9;
constexpr std::uint64_t large_chunk_nbytes = 300;

// splitmix64, seeded from the input so a crash reproduces from the input alone.
class rng {
public:
    explicit rng(std::string_view input) {
        for (const char c : input)
            state_ = (state_ ^ static_cast<unsigned char>(c)) * fnv_prime;
    }
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

private:
    static constexpr std::uint64_t fnv_prime = 0x100000001b3ull;
    std::uint64_t state_ = 0xcbf29ce484222325ull; // FNV-1a offset basis
};

struct recorded_part {
    std::string name;
    std::string filename;
    bool has_filename = false;
    std::string content_type;
    std::string data;
    bool operator==(const recorded_part&) const = default;
};
struct outcome {
    std::vector<recorded_part> parts;
    std::string error;
    bool operator==(const outcome&) const = default;
};

recorded_part record(const mp::part_header& h) {
    return {h.name, h.filename, h.has_filename, h.content_type, {}};
}

void require(bool condition) {
    if (!condition) __builtin_trap();
}

using counting_scans = compresstest::multipart::testing::counting_scans;

// find_delimiter's contract: the first complete delimiter, else the suffix of text that is a
// proper prefix of it, else text.size(); each byte read at most twice.
void check_delimiter_search(std::string_view boundary, std::string_view text) {
    const auto delimiter = "\r\n--" + std::string(boundary);
    counting_scans::read_nbytes = 0;
    const auto found = mp::find_delimiter<counting_scans>(text, delimiter);
    require(counting_scans::read_nbytes <= 2 * text.size());
    auto expected = text.find(delimiter);
    if (expected == std::string_view::npos) {
        expected = text.size() - std::min(text.size(), delimiter.size() - 1);
        while (expected < text.size() &&
               !std::string_view(delimiter).starts_with(text.substr(expected)))
            ++expected;
    }
    require(found == expected);
}

outcome parse_whole(std::string_view ct, std::string_view body, const mp::limits& lim) {
    const auto f = mp::parse_form(ct, body, lim);
    if (!f) return {{}, f.err().message};
    outcome out;
    require(f->parts.size() <= lim.max_parts);
    for (const auto& p : f->parts) {
        // Part data must be a view into the body, never a copy.
        require(p.data.empty() || (p.data.data() >= body.data() &&
                                   p.data.data() + p.data.size() <= body.data() + body.size()));
        require(p.header.name.size() <= lim.max_name_nbytes);
        require(p.header.filename.size() <= lim.max_name_nbytes);
        out.parts.push_back(record(p.header));
        out.parts.back().data = std::string(p.data);
    }
    return out;
}

outcome parse_chunked(std::string_view ct, std::string_view body, const mp::limits& lim, rng& r) {
    auto b = mp::parser::boundary_from_content_type(ct);
    if (!b) return {{}, b.err().message};
    outcome out;
    std::size_t ended = 0;
    mp::parser p(b.value(), lim,
                 {[&](const mp::part_header& h) { out.parts.push_back(record(h)); },
                  [&](std::string_view d) {
                      require(!d.empty());
                      out.parts.back().data.append(d);
                  },
                  [&] { ++ended; }});
    bool ok = true;
    while (ok && !body.empty()) {
        const auto bound = r.next() % 4 == 0 ? large_chunk_nbytes : small_chunk_nbytes;
        const auto n = static_cast<std::size_t>(r.next() % bound); // 0: an empty feed
        ok = p.feed(body.substr(0, n));
        body.remove_prefix(std::min(n, body.size()));
    }
    ok = ok && p.finish();
    if (!ok) return {{}, std::string(mp::to_string(p.error()))};
    require(ended == out.parts.size());
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    // The first line is the Content-Type, the rest is the body.
    const auto eol = input.find('\n');
    const auto ct = input.substr(0, eol);
    const auto body = eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);
    rng r(input);
    const mp::limits lim = r.next() % 2 == 0
                               ? mp::limits{}
                               : mp::limits{
                                     .max_parts = 1 + r.next() % tight_max_parts,
                                     .max_header_nbytes = r.next() % tight_max_header_nbytes,
                                     .max_name_nbytes = r.next() % tight_max_name_nbytes,
                                 };
    if (const auto b = mp::parser::boundary_from_content_type(ct)) check_delimiter_search(*b, body);
    const auto whole = parse_whole(ct, body, lim);
    require(whole == parse_chunked(ct, body, lim, r));
    return 0;
}
