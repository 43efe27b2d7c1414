#include "tlsheap/trace_meta.h"
#include "tlsheap/transform.h"
#include "transform_test_support.h"

#include <gtest/gtest.h>

namespace tlsheap::replay {
namespace {

std::string error_of(const std::string& spec) {
    try {
        make_transform(ModelSpec::parse(spec),
                       testing::OwnedTraceSource::from_bytes(testing::client_trace()));
    } catch (const TransformError& e) {
        return e.what();
    }
    return "";
}

TEST(TransformCatalog, ListsEveryTransformWithItsOptions) {
    const std::vector<TransformInfo> catalog = transform_catalog();
    ASSERT_EQ(catalog.size(), 3u);
    EXPECT_EQ(catalog[0].name, "esp-dynamic");
    EXPECT_EQ(catalog[0].options, "free_ca_cert=on|off, free_config_data=on|off, static_rx=on|off");
    EXPECT_EQ(catalog[1].name, "axtls-growth");
    EXPECT_EQ(catalog[1].options, "initial=BYTES, shared=on|off, purge_certs=on|off");
    EXPECT_EQ(catalog[2].name, "config-delta");
    EXPECT_EQ(catalog[2].options,
              "in_content_len=BYTES, out_content_len=BYTES, keep_peer_cert=on|off, tls13=on|off");
}

TEST(TransformCatalog, BadSpecsAreOneLineErrorsNamingTransformAndOption) {
    EXPECT_EQ(
        error_of("esp-static"),
        "unknown transform 'esp-static' (transforms: esp-dynamic, axtls-growth, config-delta)");
    EXPECT_EQ(error_of("esp-dynamic:free_ca=on"),
              "unknown option 'free_ca' for transform esp-dynamic (options: free_ca_cert=on|off, "
              "free_config_data=on|off, static_rx=on|off)");
    EXPECT_EQ(error_of("esp-dynamic:static_rx=yes"),
              "bad value 'yes' for option 'static_rx' of transform esp-dynamic (expected on or "
              "off)");
    EXPECT_EQ(error_of("axtls-growth:initial=100"),
              "bad value '100' for option 'initial' of transform axtls-growth (expected a number "
              "of bytes from 512 to 16384)");
    EXPECT_EQ(error_of("axtls-growth:initial=6k"),
              "bad value '6k' for option 'initial' of transform axtls-growth (expected a number "
              "of bytes from 512 to 16384)");
    EXPECT_EQ(error_of("axtls-growth:shared=on,shared=off"),
              "option 'shared' given twice for transform axtls-growth");
    EXPECT_EQ(error_of("axtls-growth:initial=4096,shared=off,purge_certs=off"), "");
    EXPECT_EQ(error_of("config-delta:in_content_len=20000"),
              "bad value '20000' for option 'in_content_len' of transform config-delta (expected "
              "a number of bytes from 0 to 16384)");
    EXPECT_EQ(error_of("config-delta:tls12=off"),
              "unknown option 'tls12' for transform config-delta (options: in_content_len=BYTES, "
              "out_content_len=BYTES, keep_peer_cert=on|off, tls13=on|off)");
    EXPECT_EQ(error_of("config-delta:in_content_len=4096,keep_peer_cert=off"), "");
}

TEST(TransformCatalog, MetaRecordNamesEveryOptionInEffect) {
    auto source = make_transform(ModelSpec::parse("axtls-growth:shared=off"),
                                 testing::OwnedTraceSource::from_bytes(testing::client_trace()));
    trace::Record r;
    std::string value;
    while (source->next(r))
        if (r.tag == trace::Tag::Meta && r.key == trace::meta::kTransform)
            value = r.value;
    EXPECT_EQ(value, "axtls-growth:initial=5840,shared=off,purge_certs=on");
}

} // namespace
} // namespace tlsheap::replay
