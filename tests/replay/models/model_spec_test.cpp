// ModelSpec: the text of --model NAME[:key=value,...].
#include "tlsheap/allocator_model.h"

#include <gtest/gtest.h>

namespace tlsheap::replay {
namespace {

TEST(ModelSpec, NameAlone) {
    const ModelSpec spec = ModelSpec::parse("umm");
    EXPECT_EQ(spec.name, "umm");
    EXPECT_TRUE(spec.options.empty());
    EXPECT_EQ(spec.to_string(), "umm");
}

TEST(ModelSpec, OptionsKeepTheirOrder) {
    const ModelSpec spec = ModelSpec::parse("mbedtls-pool:align=8,backtrace=on,ptr=4");
    EXPECT_EQ(spec.name, "mbedtls-pool");
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"align", "8"}, {"backtrace", "on"}, {"ptr", "4"}};
    EXPECT_EQ(spec.options, expected);
    EXPECT_EQ(spec.to_string(), "mbedtls-pool:align=8,backtrace=on,ptr=4");
}

TEST(ModelSpec, ValueMayHoldAnEqualsSign) {
    const ModelSpec spec = ModelSpec::parse("x:k=a=b");
    ASSERT_EQ(spec.options.size(), 1u);
    EXPECT_EQ(spec.options[0].first, "k");
    EXPECT_EQ(spec.options[0].second, "a=b");
}

TEST(ModelSpec, MalformedTextIsAnError) {
    for (const char* text : {"", ":x=1", "umm:", "umm:fit", "umm:=best",
                             "umm:fit=", "umm:fit=best,", "umm:fit=best,,x=1"}) {
        try {
            ModelSpec::parse(text);
            ADD_FAILURE() << "accepted '" << text << "'";
        } catch (const ModelError& error) {
            const std::string message = error.what();
            EXPECT_NE(message.find("malformed --model '" + std::string(text) + "'"),
                      std::string::npos)
                << message;
            EXPECT_EQ(message.find('\n'), std::string::npos);
        }
    }
}

} // namespace
} // namespace tlsheap::replay
