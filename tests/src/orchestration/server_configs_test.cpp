// What tlsheap tells gnutls-serv, nginx, mosquitto and coap-server to serve
// a scenario with, worked out by hand from the scenario (the servers
// themselves are exercised by the end-to-end tests).
#include "orchestration/coap_server.h"
#include "orchestration/gnutls_server.h"
#include "orchestration/mosquitto_config.h"
#include "orchestration/nginx_config.h"
#include "orchestration/record_error.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tlsheap::record {
namespace {

Scenario mutual_tls13() {
    Scenario s;
    s.name = "mutual";
    s.protocol = "tls1.3";
    s.openssl_ciphersuites = "TLS_AES_128_GCM_SHA256";
    s.groups = {"secp256r1", "x25519"};
    s.auth_mode = "mutual";
    s.server_chain = {"/pki/server.pem"};
    s.server_key = "/pki/server.key";
    s.client_ca = {"/pki/client-root.pem"};
    return s;
}

Scenario psk_tls12() {
    Scenario s;
    s.name = "psk";
    s.protocol = "tls1.2";
    s.auth_mode = "psk";
    s.psk_identity = "Client_identity";
    s.psk_hex = "000102";
    return s;
}

// Credentials as the peer copies them into its directory `dir`.
ServerCredentials credentials_in(const std::string& dir) {
    return {dir + "/chain.pem", dir + "/key.pem", dir + "/client_ca.pem"};
}

TEST(GnutlsServer, PriorityPinsTheVersionAndAddsPskKeyExchanges) {
    EXPECT_EQ(gnutls_priority(mutual_tls13()), "NORMAL:-VERS-ALL:+VERS-TLS1.3");
    EXPECT_EQ(gnutls_priority(psk_tls12()),
              "NORMAL:-VERS-ALL:+VERS-TLS1.2:+PSK:+ECDHE-PSK:+DHE-PSK");
    EXPECT_EQ(gnutls_psk_line(psk_tls12()), "Client_identity:000102\n");
}

TEST(GnutlsServer, MutualRequiresAndVerifiesTheClientsCertificate) {
    GnutlsSite site;
    site.port = 4433;
    site.body = "/w/response";
    site.credentials = credentials_in("/w");
    lifecycle::Lifecycle l;
    l.resume = lifecycle::Resume::SessionId;
    EXPECT_EQ(gnutls_serv_arguments(mutual_tls13(), l, site),
              (std::vector<std::string>{
                  "gnutls-serv", "--port", "4433", "--http", "--httpdata", "/w/response",
                  "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3", "--noticket", "--x509certfile",
                  "/w/chain.pem", "--x509keyfile", "/w/key.pem", "--x509cafile", "/w/client_ca.pem",
                  "--require-client-cert", "--verify-client-cert"}));
    site.psk_file = "/w/psk.txt";
    EXPECT_EQ(gnutls_serv_arguments(psk_tls12(), lifecycle::Lifecycle{}, site),
              (std::vector<std::string>{"gnutls-serv", "--port", "4433", "--http", "--httpdata",
                                        "/w/response", "--priority",
                                        "NORMAL:-VERS-ALL:+VERS-TLS1.2:+PSK:+ECDHE-PSK:+DHE-PSK",
                                        "--pskpasswd", "/w/psk.txt"}));
}

TEST(NginxConfig, OneServerOnLoopbackWithTheScenariosTls) {
    NginxSite site;
    site.port = 8443;
    site.work_dir = "/w";
    site.credentials = credentials_in("/w");
    lifecycle::Lifecycle l;
    l.resume = lifecycle::Resume::SessionId;
    const std::string conf = nginx_config(mutual_tls13(), l, site);
    for (const char* line :
         {"daemon off;\n", "master_process off;\n", "pid \"/w/nginx.pid\";\n",
          "  client_body_temp_path \"/w/tmp/client_body\";\n", "    listen 127.0.0.1:8443 ssl;\n",
          "    ssl_certificate \"/w/chain.pem\";\n", "    ssl_certificate_key \"/w/key.pem\";\n",
          "    ssl_protocols TLSv1.3;\n",
          "    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;\n",
          "    ssl_ecdh_curve P-256:X25519;\n", "    ssl_verify_client on;\n",
          "    ssl_client_certificate \"/w/client_ca.pem\";\n", "    ssl_session_tickets off;\n",
          "    root \"/w/www\";\n"}) {
        EXPECT_NE(conf.find(line), std::string::npos) << line << "\nin:\n" << conf;
    }
    EXPECT_EQ(conf.find("ssl_ciphers"), std::string::npos) << conf; // TLS 1.2's
}

TEST(NginxConfig, PathNginxWouldReadAsAVariableIsRefused) {
    NginxSite site;
    site.port = 8443;
    site.work_dir = "/w/$host";
    site.credentials = credentials_in("/w");
    EXPECT_THROW(nginx_config(mutual_tls13(), lifecycle::Lifecycle{}, site), ScenarioError);
}

TEST(MosquittoConfig, OneTlsListenerOnLoopbackThatRequiresTheClientsCertificate) {
    MosquittoSite site;
    site.port = 8883;
    site.credentials = credentials_in("/w");
    const std::string conf = mosquitto_config(mutual_tls13(), site);
    for (const char* line : {"persistence false\n", "log_dest stderr\n", "allow_anonymous false\n",
                             "listener 8883 127.0.0.1\n", "certfile /w/chain.pem\n",
                             "keyfile /w/key.pem\n", "tls_version tlsv1.3\n",
                             "ciphers_tls1.3 TLS_AES_128_GCM_SHA256\n", "cafile /w/client_ca.pem\n",
                             "require_certificate true\n", "use_identity_as_username true\n"}) {
        EXPECT_NE(conf.find(line), std::string::npos) << line << "\nin:\n" << conf;
    }
    site.credentials.key = "/w/key.pem\nlistener 1883";
    EXPECT_THROW(mosquitto_config(mutual_tls13(), site), ScenarioError);
}

TEST(CoapServer, PskIsTheKeysBytesWithNoHint) {
    Scenario s = psk_tls12();
    s.protocol = "dtls1.2";
    s.psk_hex = "0A0b7f";
    CoapSite site;
    site.port = 5684;
    site.work_dir = "/w";
    // -p 5683: plain CoAP there, DTLS on 5684.
    EXPECT_EQ(coap_server_arguments(s, site),
              (std::vector<std::string>{"coap-server-gnutls", "-A", "127.0.0.1", "-p", "5683", "-k",
                                        "\x0a\x0b\x7f", "-h", ""}));
    // argv cannot carry a zero byte.
    s.psk_hex = "000102";
    EXPECT_THROW(coap_server_arguments(s, site), ScenarioError);
    s.psk_hex = "01";
    site.port = 1; // the plain port would be 0
    EXPECT_THROW(coap_server_arguments(s, site), RecordError);
}

TEST(CoapServer, CertificatesAndTheClientCaForMutual) {
    CoapSite site;
    site.port = 20001;
    site.credentials = credentials_in("/w");
    Scenario s = mutual_tls13();
    s.protocol = "dtls1.2";
    EXPECT_EQ(
        coap_server_arguments(s, site),
        (std::vector<std::string>{"coap-server-gnutls", "-A", "127.0.0.1", "-p", "20000", "-c",
                                  "/w/chain.pem", "-j", "/w/key.pem", "-C", "/w/client_ca.pem"}));
    s.auth_mode = "certificate";
    EXPECT_EQ(coap_server_arguments(s, site),
              (std::vector<std::string>{"coap-server-gnutls", "-A", "127.0.0.1", "-p", "20000",
                                        "-c", "/w/chain.pem", "-j", "/w/key.pem"}));
}

// A UDP socket on 127.0.0.1 (`any`: 0.0.0.0) at a port the kernel picks.
class BoundUdpSocket {
  public:
    explicit BoundUdpSocket(bool any = false) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
        port_ = ntohs(a.sin_port);
    }
    ~BoundUdpSocket() { close(); }
    BoundUdpSocket(const BoundUdpSocket&) = delete;
    BoundUdpSocket& operator=(const BoundUdpSocket&) = delete;
    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    unsigned port() const { return port_; }

  private:
    int fd_;
    unsigned port_ = 0;
};

TEST(CoapServer, UdpPortBoundReadsTheKernelsSocketTable) {
    for (bool any : {false, true}) {
        BoundUdpSocket socket(any);
        ASSERT_NE(socket.port(), 0u);
        EXPECT_TRUE(udp_port_bound(socket.port())) << socket.port();
        socket.close();
        EXPECT_FALSE(udp_port_bound(socket.port())) << socket.port();
    }
}

TEST(CoapServer, PortsAreAFreePairOrTheRequestedOne) {
    const CoapPorts any = coap_ports(0);
    EXPECT_EQ(any.dtls, any.plain + 1);
    EXPECT_FALSE(udp_port_bound(any.plain));
    EXPECT_FALSE(udp_port_bound(any.dtls));
    // Either port of the pair taken: refused, as in use (exit code 2).
    BoundUdpSocket taken;
    for (unsigned dtls : {taken.port(), taken.port() + 1}) {
        try {
            coap_ports(dtls);
            ADD_FAILURE() << dtls << " accepted with " << taken.port() << " bound";
        } catch (const RecordError& e) {
            EXPECT_EQ(e.exit_code(), 2);
            EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(coap_ports(1), RecordError);
}

} // namespace
} // namespace tlsheap::record
