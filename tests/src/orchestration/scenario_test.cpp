#include "orchestration/recorder_arguments.h"
#include "orchestration/resumption_check.h"
#include "orchestration/scenario.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace tlsheap::record {
namespace {

namespace fs = std::filesystem;

class ScenarioTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tlsheap-scenario-" + std::to_string(::getpid()));
        fs::create_directories(dir_ / "pki");
        for (const char* f : {"pki/ca.pem", "pki/leaf.pem", "pki/leaf.der", "pki/key.pem"}) {
            std::ofstream(dir_ / f) << "x";
        }
    }
    void TearDown() override { fs::remove_all(dir_); }
    void write(const std::string& name, const std::string& json) {
        std::ofstream(dir_ / (name + ".json")) << json;
    }
    fs::path dir_;
};

TEST_F(ScenarioTest, LoadsAndTranslatesToRecorderArguments) {
    write("s", R"({"name": "s", "protocol": "tls1.2",
                  "ciphersuites": {"mbedtls": ["TLS-X"], "openssl": "X"},
                  "groups": ["secp256r1"],
                  "authentication": {"mode": "certificate", "ca": "pki/ca.pem",
                                     "server_chain": ["pki/leaf.pem"], "server_key": "pki/key.pem"},
                  "server_name": "n", "exchange": {"response_bytes": 77}})");
    const Scenario s = load_scenario("s", dir_);
    EXPECT_EQ(s.response_bytes, 77u);
    EXPECT_EQ(s.peers, std::vector<std::string>{"mbedtls"});
    const auto client = recorder_arguments(s, Side::Client, false);
    const auto joined = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& a : v) {
            out += a + " ";
        }
        return out;
    };
    EXPECT_NE(joined(client).find("--ca " + (dir_ / "pki/ca.pem").string()), std::string::npos);
    EXPECT_NE(joined(client).find("--server-name n"), std::string::npos);
    EXPECT_NE(joined(client).find("--ciphersuite TLS-X"), std::string::npos);
    const auto server_der = recorder_arguments(s, Side::Server, true);
    // DER requested and present for the leaf; the key has no .der sibling and stays PEM.
    EXPECT_NE(joined(server_der).find("--cert " + (dir_ / "pki/leaf.der").string()),
              std::string::npos);
    EXPECT_NE(joined(server_der).find("--key " + (dir_ / "pki/key.pem").string()),
              std::string::npos);
}

// The client asks for the scenario's maximum fragment length (and, with
// "none", for none); the server takes what it is asked; a PSK client too.
TEST_F(ScenarioTest, MaxFragmentLengthReachesTheClientOnly) {
    const std::string psk =
        R"("protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"})";
    for (const auto& [field, expected] : std::vector<std::pair<std::string, std::string>>{
             {R"(,"max_fragment_length":512)", "512"},
             {R"(,"max_fragment_length":4096)", "4096"},
             {R"(,"max_fragment_length":"none")", "none"},
             {"", ""}}) {
        write("m", R"({"name":"m",)" + psk + field + "}");
        const Scenario s = load_scenario("m", dir_);
        const auto client = recorder_arguments(s, Side::Client, false);
        const auto it = std::find(client.begin(), client.end(), "--max-fragment");
        if (expected.empty()) {
            EXPECT_EQ(it, client.end()) << "no max_fragment_length: the recorder's choice";
        } else {
            ASSERT_NE(it, client.end()) << field;
            ASSERT_NE(it + 1, client.end());
            EXPECT_EQ(*(it + 1), expected);
        }
        const auto server = recorder_arguments(s, Side::Server, false);
        EXPECT_EQ(std::find(server.begin(), server.end(), "--max-fragment"), server.end());
    }
}

// The recorder decides what auto means for its variant; the scenario passes
// the policy to both sides, auto when the file does not say.
TEST_F(ScenarioTest, PsaInitReachesTheRecorderOfBothSides) {
    const std::string psk =
        R"("protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"})";
    for (const auto& [field, expected] :
         std::vector<std::pair<std::string, std::string>>{{"", "auto"},
                                                          {R"(,"psa_init":"auto")", "auto"},
                                                          {R"(,"psa_init":"always")", "always"},
                                                          {R"(,"psa_init":"never")", "never"}}) {
        write("p", R"({"name":"p",)" + psk + field + "}");
        const Scenario s = load_scenario("p", dir_);
        EXPECT_STREQ(trace::meta::psa_init_name(s.psa_init), expected.c_str());
        for (const Side side : {Side::Client, Side::Server}) {
            const auto a = recorder_arguments(s, side, false);
            const auto it = std::find(a.begin(), a.end(), "--psa-init");
            ASSERT_NE(it, a.end());
            ASSERT_NE(it + 1, a.end());
            EXPECT_EQ(*(it + 1), expected);
        }
    }
}

TEST_F(ScenarioTest, LifecycleKeysReachTheRecorderOfBothSides) {
    const std::string base = R"({"name": "l", "protocol": "tls1.2",
                  "authentication": {"mode": "psk", "psk_identity": "i", "psk": "00"})";
    write("one", base + "}");
    EXPECT_TRUE(load_scenario("one", dir_).lifecycle.single());
    EXPECT_TRUE(lifecycle_arguments(load_scenario("one", dir_).lifecycle).empty());
    write("three", base + R"(, "connections": 3, "start": "staggered", "reconnects": 2})");
    const Scenario s = load_scenario("three", dir_);
    EXPECT_EQ(s.lifecycle.connections, 3u);
    EXPECT_EQ(s.lifecycle.start, lifecycle::Start::Staggered);
    EXPECT_EQ(s.lifecycle.reconnects, 2u);
    EXPECT_EQ(lifecycle_arguments(s.lifecycle),
              (std::vector<std::string>{"--connections", "3", "--start", "staggered",
                                        "--reconnects", "2"}));
    for (const char* bad : {R"("connections": 0)", R"("reconnects": -1)", R"("start": "later")"}) {
        write("bad", base + ", " + bad + "}");
        try {
            load_scenario("bad", dir_);
            ADD_FAILURE() << bad << " was accepted";
        } catch (const ScenarioError& e) {
            const std::string key = std::string(bad).substr(1, std::string(bad).find('"', 1) - 1);
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    }
}

TEST_F(ScenarioTest, ResumeKeyReachesTheRecorderOfBothSides) {
    const std::string base = R"({"name": "r", "protocol": "tls1.2",
                  "authentication": {"mode": "psk", "psk_identity": "i", "psk": "00"})";
    write("resume", base + R"(, "reconnects": 3, "resume": "session-id"})");
    const Scenario s = load_scenario("resume", dir_);
    EXPECT_EQ(s.lifecycle.resume, lifecycle::Resume::SessionId);
    EXPECT_EQ(lifecycle_arguments(s.lifecycle),
              (std::vector<std::string>{"--connections", "1", "--start", "together", "--reconnects",
                                        "3", "--resume", "session-id"}));
    EXPECT_EQ(resumption_problem(s, s.lifecycle, "mbedtls"), "");
    EXPECT_EQ(resumption_problem(s, s.lifecycle, "openssl"), "");
    write("no-resume", base + R"(, "reconnects": 3, "resume": "none"})");
    EXPECT_EQ(load_scenario("no-resume", dir_).lifecycle.resume, lifecycle::Resume::None);
    for (const char* name : {"none", "session-id", "ticket"}) {
        EXPECT_EQ(lifecycle::resume_name(*lifecycle::resume_from_name(name)), std::string(name));
    }
    EXPECT_FALSE(lifecycle::resume_from_name("session_id"));
    write("bad", base + R"(, "reconnects": 2, "resume": "always"})");
    try {
        load_scenario("bad", dir_);
        ADD_FAILURE() << "resume always was accepted";
    } catch (const ScenarioError& e) {
        EXPECT_NE(std::string(e.what()).find("resume"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("always"), std::string::npos) << e.what();
    }
}

TEST_F(ScenarioTest, EarlyDataKeyReachesTheRecorderOfBothSides) {
    const std::string base = R"({"name": "e", "protocol": "tls1.3",
                  "authentication": {"mode": "certificate", "ca": "pki/ca.pem",
                                     "server_chain": ["pki/leaf.pem"],
                                     "server_key": "pki/key.pem"})";
    write("early", base + R"(, "reconnects": 2, "resume": "ticket", "early_data": true})");
    const Scenario s = load_scenario("early", dir_);
    EXPECT_TRUE(s.lifecycle.early_data);
    EXPECT_EQ(lifecycle_arguments(s.lifecycle),
              (std::vector<std::string>{"--connections", "1", "--start", "together", "--reconnects",
                                        "2", "--resume", "ticket", "--early-data"}));
    EXPECT_EQ(resumption_problem(s, s.lifecycle, "mbedtls"), "");
    EXPECT_NE(resumption_problem(s, s.lifecycle, "openssl").find("mbedtls peer"),
              std::string::npos);
    lifecycle::Lifecycle no_ticket = s.lifecycle;
    no_ticket.resume = lifecycle::Resume::None;
    EXPECT_NE(resumption_problem(s, no_ticket, "mbedtls").find("--resume ticket"),
              std::string::npos);
    write("bad-early", base + R"(, "reconnects": 2, "resume": "ticket", "early_data": "yes"})");
    try {
        load_scenario("bad-early", dir_);
        ADD_FAILURE() << "early_data \"yes\" was accepted";
    } catch (const ScenarioError& e) {
        EXPECT_NE(std::string(e.what()).find("early_data"), std::string::npos) << e.what();
    }
}

TEST_F(ScenarioTest, ResumptionProblemsAreNamed) {
    Scenario tls12;
    tls12.name = "t12";
    tls12.protocol = "tls1.2";
    tls12.auth_mode = "certificate";
    Scenario tls13 = tls12;
    tls13.name = "t13";
    tls13.protocol = "tls1.3";
    lifecycle::Lifecycle l;
    l.resume = lifecycle::Resume::Ticket;
    // One connection: nothing to resume.
    EXPECT_NE(resumption_problem(tls12, l, "mbedtls").find("second connection"), std::string::npos);
    l.reconnects = 2;
    EXPECT_EQ(resumption_problem(tls12, l, "mbedtls"), "");
    EXPECT_EQ(resumption_problem(tls13, l, "openssl"), "");
    EXPECT_EQ(resumption_problem(tls13, l, "external"), "");
    EXPECT_EQ(resumption_problem(tls12, l, "gnutls"), "");
    EXPECT_EQ(resumption_problem(tls13, l, "nginx"), "");
    l.resume = lifecycle::Resume::SessionId;
    EXPECT_EQ(resumption_problem(tls12, l, "openssl"), "");
    EXPECT_NE(resumption_problem(tls13, l, "mbedtls").find("TLS 1.3 has no session-ID"),
              std::string::npos);
    l.resume = lifecycle::Resume::Ticket;
    tls13.auth_mode = "psk";
    EXPECT_NE(resumption_problem(tls13, l, "mbedtls").find("external PSK"), std::string::npos);
    l.resume = lifecycle::Resume::None;
    l.reconnects = 1;
    EXPECT_EQ(resumption_problem(tls13, l, "mbedtls"), "");
}

TEST_F(ScenarioTest, UnknownScenarioListsTheKnownOnes) {
    write("alpha", "{}");
    try {
        load_scenario("nope", dir_);
        FAIL();
    } catch (const ScenarioError& e) {
        EXPECT_NE(std::string(e.what()).find("unknown scenario 'nope' (known: alpha)"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(ScenarioTest, BadScenariosSayWhatIsWrong) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{not json", "not valid JSON"},
        {R"({"name":"x"})", "missing field 'protocol'"},
        {R"({"name":"x","protocol":"ssl3","authentication":{"mode":"psk"}})", "protocol must be"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00"}})",
         "psk_identity"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"certificate","ca":"pki/missing.pem"}})",
         "does not exist"},
        // Found by scenario_loader_fuzzer: the recorder reads an empty one as none.
        {R"({"name":"x","protocol":"tls1.3","authentication":{"mode":"psk","psk":"00","psk_identity":""}})",
         "psk_identity must not be empty"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"","psk_identity":"i"}})",
         "psk must be the key in hex digits"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"0g","psk_identity":"i"}})",
         "psk must be the key in hex digits"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"peers":["wolfssl"]})",
         "unknown peer 'wolfssl' (mbedtls, openssl, gnutls, nginx, mosquitto, coap)"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"peers":["a\nb"]})",
         "unknown peer 'a?b'"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"peers":["mbedtls","nginx"]})",
         "nginx has no TLS-PSK"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"max_fragment_length":300})",
         "max_fragment_length must be 512, 1024, 2048, 4096 or \"none\""},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"max_fragment_length":"512"})",
         "max_fragment_length must be 512, 1024, 2048, 4096 or \"none\""},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"psa_init":"sometimes"})",
         R"(psa_init must be "auto", "always" or "never")"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"psa_init":true})",
         R"(psa_init must be "auto", "always" or "never")"},
        // DTLS keys on TLS, and applications on the wrong transport or peer.
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"dtls":{"connection_id":4}})",
         "a \"dtls\" object (connection ID, HelloVerifyRequest, MTU) needs protocol dtls1.2, "
         "not tls1.2"},
        {R"({"name":"x","protocol":"dtls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"dtls":{"connection_id":33}})",
         "dtls.connection_id must be the CID length, 0 to 32 bytes"},
        {R"({"name":"x","protocol":"dtls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"dtls":{"mtu":100}})",
         "dtls.mtu must be from 128 to 16384"},
        {R"({"name":"x","protocol":"dtls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"dtls":{"hello_verify":1}})",
         "dtls.hello_verify must be true or false"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"exchange":{"application":"coap"}})",
         "a coap exchange runs over DTLS (protocol dtls1.2)"},
        {R"({"name":"x","protocol":"dtls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"exchange":{"application":"mqtt"}})",
         "an mqtt exchange runs over TLS, not DTLS"},
        {R"({"name":"x","protocol":"dtls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"peers":["gnutls"]})",
         "peer gnutls does not speak DTLS"},
        {R"({"name":"x","protocol":"dtls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"exchange":{"application":"coap"},"peers":["openssl"]})",
         "peer openssl does not speak CoAP"},
        {R"({"name":"x","protocol":"dtls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"peers":["coap"]})",
         "peer coap is a CoAP server"},
        {R"({"name":"x","protocol":"dtls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"exchange":{"application":"coap","coap_path":"x"}})",
         "exchange.coap_path must start with '/'"},
        // nlohmann reports a number beyond a double as out_of_range, not parse_error.
        {R"({"name":"x","protocol":"tls1.2","connections":1e999})", "is not valid JSON"},
        {"889e8988", "is not valid JSON"},
        // Once accepted: the openssl peer wrote gigabytes before the handshake.
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"exchange":{"response_bytes":16777217}})",
         "response_bytes from 0 to 16777216"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"psk","psk":"00","psk_identity":"i"},"exchange":{"response_bytes":-1}})",
         "response_bytes from 0 to 16777216"},
        // The name becomes file names in the cache: a path would write elsewhere.
        {R"({"name":"../../../../elsewhere/x","protocol":"tls1.2"})", "is not a plain name"},
        {R"({"name":"a/b","protocol":"tls1.2"})", "is not a plain name"},
        {R"({"name":"..","protocol":"tls1.2"})", "is not a plain name"},
        {R"({"name":".hidden","protocol":"tls1.2"})", "is not a plain name"},
        {R"({"name":"","protocol":"tls1.2"})", "is not a plain name"},
        {R"({"name":"a\nb","protocol":"tls1.2"})", "is not a plain name"},
        // Credentials are read whole: a device or a directory is not one.
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"certificate","ca":"/dev/zero","server_chain":"pki/leaf.pem","server_key":"pki/key.pem"}})",
         "/dev/zero is not a regular file"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"certificate","ca":"pki","server_chain":"pki/leaf.pem","server_key":"pki/key.pem"}})",
         "pki is not a regular file"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"certificate","ca":"pki/ca.pem","server_chain":"pki/big.pem","server_key":"pki/key.pem"}})",
         "big.pem is larger than 1 MiB"},
        {R"({"name":"x","protocol":"tls1.2","authentication":{"mode":"certificate","ca":"pki/ca.pem","server_chain":["pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem","pki/leaf.pem"],"server_key":"pki/key.pem"}})",
         "server_chain names 17 files, more than 16"},
    };
    std::ofstream(dir_ / "pki/big.pem").close();
    fs::resize_file(dir_ / "pki/big.pem", (1u << 20) + 1);
    for (const auto& [json, expected] : cases) {
        write("bad", json);
        try {
            load_scenario("bad", dir_);
            ADD_FAILURE() << "accepted: " << json;
        } catch (const ScenarioError& e) {
            EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
        }
    }
}

TEST(ScenarioName, PlainNamesOnly) {
    for (const char* ok : {"tls12-ecdhe-ecdsa-p256", "a.b_c-1", "X"}) {
        EXPECT_TRUE(is_plain_scenario_name(ok)) << ok;
    }
    for (const char* bad : {"", ".", "..", ".x", "a/b", "/x", "a b", "a\\b", "x\n"}) {
        EXPECT_FALSE(is_plain_scenario_name(bad)) << bad;
    }
}

TEST(CommittedScenarios, AllLoad) {
    const fs::path dir = fs::path(TLSHEAP_SOURCE_DIR) / "scenarios";
    const auto names = list_scenarios(dir);
    EXPECT_GE(names.size(), 4u);
    for (const char* required : {"tls12-ecdhe-ecdsa-p256", "tls12-ecdhe-rsa-chain",
                                 "tls13-ecdsa-p256", "tls12-psk-aes128-ccm"}) {
        EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
    }
    for (const std::string& n : names) {
        EXPECT_NO_THROW(load_scenario(n, dir)) << n;
        EXPECT_EQ(load_scenario(n, dir).name, n);
    }
}

} // namespace
} // namespace tlsheap::record
