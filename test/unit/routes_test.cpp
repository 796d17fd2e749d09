// The route table's pure helpers: which key a request's reports count under.
#include "server/routes.hpp"

#include <gtest/gtest.h>

namespace ct = compresstest;

namespace {

ct::request with_forwarded_for(std::initializer_list<const char*> values) {
    ct::request req{ct::http::verb::post, "/compress", 11};
    for (const char* v : values)
        req.insert("X-Forwarded-For", v);
    return req;
}

} // namespace

TEST(client_key, is_the_peer_unless_forwarded_for_is_trusted) {
    ct::config cfg;
    EXPECT_EQ(ct::client_key(cfg, "10.0.0.9", with_forwarded_for({"203.0.113.7"})), "10.0.0.9");
    cfg.trust_forwarded_for = true;
    EXPECT_EQ(ct::client_key(cfg, "10.0.0.9", with_forwarded_for({"203.0.113.7"})), "203.0.113.7");
}

TEST(client_key, skips_private_hops_and_ignores_what_the_client_claimed_before_the_balancer) {
    ct::config cfg;
    cfg.trust_forwarded_for = true;
    // Client-sent "198.51.100.1", the balancer appended the real client, EB's nginx the balancer.
    EXPECT_EQ(ct::client_key(cfg, "172.17.0.1",
                             with_forwarded_for({"198.51.100.1, 203.0.113.7, 10.1.2.3"})),
              "203.0.113.7");
    EXPECT_EQ(
        ct::client_key(cfg, "172.17.0.1", with_forwarded_for({"198.51.100.1", "2001:db8::1"})),
        "2001:db8::1");
    for (const char* not_public : {"127.0.0.1", "192.168.1.1", "172.16.0.1", "100.64.0.1",
                                   "fd00::1", "fe80::1", "::ffff:10.0.0.1", "garbage", ""})
        EXPECT_EQ(ct::client_key(cfg, "172.17.0.1", with_forwarded_for({not_public})), "172.17.0.1")
            << not_public;
}
