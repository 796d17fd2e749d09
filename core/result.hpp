// A value-or-error result for core functions that refuse bad input without throwing.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace compresstest {

// What kind of refusal an error is; the server maps each kind to one HTTP status
// (server/errors.cpp is the one place that does it).
enum class error_kind {
    bad_request,        // malformed body or missing field (400)
    not_found,          // no such route (404)
    method_not_allowed, // wrong method for the route (405)
    timeout,            // client too slow (408)
    too_large,          // input or body over the limit (413)
    headers_too_large,  // request line and header block over the limit (431, RFC 6585)
    unsupported_type,   // content type not accepted (415)
    unprocessable,      // well-formed but refused: both fields, unknown codec, level, budget (422)
    too_many_requests,  // a client over its share of reports in flight (429, RFC 6585)
    overloaded,         // compute queue or body memory budget full (503)
    internal,           // a library failed; never the client's fault (500)
};

struct error {
    error_kind kind;
    std::string message; // says what to fix, written for the person sending the request
};

// Holds either a T or an error. Deliberately small: no monadic helpers, just checks.
template <class T> class result {
public:
    result(T value) : v_(std::move(value)) {}
    result(error e) : v_(std::move(e)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const error& err() const { return std::get<1>(v_); }

private:
    std::variant<T, error> v_;
};

} // namespace compresstest
