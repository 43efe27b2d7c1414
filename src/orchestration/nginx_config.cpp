#include "orchestration/nginx_config.h"

#include "orchestration/openssl_names.h"

#include <fmt/format.h>

namespace tlsheap::record {

namespace {

std::string quoted(const std::filesystem::path& p) {
    const std::string text = p.string();
    if (text.find_first_of("\"\\$") != std::string::npos) {
        throw ScenarioError("nginx cannot be given the path " + text +
                            " (it holds a quote, a backslash or a '$')");
    }
    return "\"" + text + "\"";
}

} // namespace

std::string nginx_config(const Scenario& s, const lifecycle::Lifecycle& l, const NginxSite& site) {
    const std::filesystem::path& dir = site.work_dir;
    std::string tls;
    tls += fmt::format("    ssl_protocols {};\n", s.protocol == "tls1.3" ? "TLSv1.3" : "TLSv1.2");
    if (s.protocol == "tls1.3" && !s.openssl_ciphersuites.empty()) {
        tls += fmt::format("    ssl_conf_command Ciphersuites {};\n", s.openssl_ciphersuites);
    } else if (s.protocol != "tls1.3" && !s.openssl_ciphers.empty()) {
        tls += fmt::format("    ssl_ciphers {};\n", s.openssl_ciphers);
    }
    if (!s.groups.empty()) {
        tls += fmt::format("    ssl_ecdh_curve {};\n", openssl_group_list(s.groups));
    }
    if (!site.credentials.client_ca.empty()) {
        tls += fmt::format("    ssl_verify_client on;\n    ssl_client_certificate {};\n",
                           quoted(site.credentials.client_ca));
    }
    // Resumption as the recorded client asks for it: a session cache alone,
    // or tickets (nginx's default).
    if (l.resume == lifecycle::Resume::SessionId) {
        tls += "    ssl_session_tickets off;\n    ssl_session_cache shared:tlsheap:1m;\n";
    }
    // Where nginx would write otherwise: under /var/lib/nginx, which need not
    // be there nor writable.
    std::string temp_paths;
    for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
        temp_paths += fmt::format("  {}_temp_path {};\n", kind, quoted(dir / "tmp" / kind));
    }
    return fmt::format("# Written by tlsheap for one recording; removed with its directory.\n"
                       "daemon off;\n"
                       "master_process off;\n"
                       "worker_processes 1;\n"
                       "pid {pid};\n"
                       "error_log stderr warn;\n"
                       "events {{ worker_connections 256; }}\n"
                       "http {{\n"
                       "  access_log off;\n"
                       "  default_type application/octet-stream;\n"
                       "{temp_paths}"
                       "  server {{\n"
                       "    listen 127.0.0.1:{port} ssl;\n"
                       "    ssl_certificate {chain};\n"
                       "    ssl_certificate_key {key};\n"
                       "{tls}"
                       "    root {root};\n"
                       "  }}\n"
                       "}}\n",
                       fmt::arg("pid", quoted(dir / "nginx.pid")),
                       fmt::arg("temp_paths", temp_paths), fmt::arg("port", site.port),
                       fmt::arg("chain", quoted(site.credentials.chain)),
                       fmt::arg("key", quoted(site.credentials.key)), fmt::arg("tls", tls),
                       fmt::arg("root", quoted(dir / "www")));
}

} // namespace tlsheap::record
