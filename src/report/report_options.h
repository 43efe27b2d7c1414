// What a profile report shows, for the terminal and the JSON document alike.
#pragma once

namespace tlsheap::report {

struct ReportOptions {
    unsigned top_sites = 10;
    bool show_models = true;
};

} // namespace tlsheap::report
