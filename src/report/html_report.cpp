#include "report/html_report.h"

#include "report/html_page_assets.h"
#include "report/html_timeline.h"
#include "report/json_text.h"
#include "tlsheap/trace_walker.h"

#include <memory>

namespace tlsheap::report {

using nlohmann::json;
using replay::HeapFigures;

namespace {

// Text from traces and documents goes into the page as data only: in the
// JSON of a <script type="application/json"> block, where "</script>" or
// "<!--" must not appear; \u escapes keep it valid JSON.
std::string script_safe_json(const json& data) {
    const std::string text = json_text(data);
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '<':
            out += "\\u003c";
            break;
        case '>':
            out += "\\u003e";
            break;
        case '&':
            out += "\\u0026";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string html_escaped(const std::string& text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '&':
            out += "&amp;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

} // namespace

json html_trace_view(const std::string& name, json profile, const replay::SourceFactory& open,
                     const std::vector<replay::ModelSpec>& models,
                     std::optional<std::uint64_t> heap_size) {
    replay::ReplayOptions options;
    options.models = models;
    options.pool_size = heap_size;
    options.heap_verdicts = false;
    options.stack_tables = true;
    options.series_points = kHtmlSeriesPoints;
    replay::ReplayResult replayed;
    {
        const std::unique_ptr<replay::RecordSource> source = open();
        replayed = replay::replay_trace(*source, options);
    }
    json series = json::array();
    for (const replay::SeriesPoint& p : replayed.series) {
        json point = {p.seq, p.live, p.live_max, p.footprint};
        if (!p.heap.empty()) {
            // Per model: free bytes and the largest free block, as its API says.
            json heap = json::array();
            for (const HeapFigures& h : p.heap) {
                heap.push_back({h.free_bytes, h.largest_free_block});
            }
            point.push_back(std::move(heap));
        }
        series.push_back(std::move(point));
    }
    FlameStacks at_peak(replayed.info);
    for (const replay::StackBytes& entry : replayed.stacks_alive_at_peak) {
        at_peak.add({}, entry.stack, entry.bytes);
    }
    json model_names = json::array();
    for (const replay::ModelRun& m : replayed.models) {
        model_names.push_back(m.name);
    }
    const std::unique_ptr<replay::RecordSource> source = open();
    trace::TraceWalker walker;
    HtmlTimelineCollector collector(walker, replayed.series);
    walker.walk(*source, collector);
    json timeline = collector.finish();
    timeline["series"] = std::move(series);
    timeline["models"] = std::move(model_names);
    timeline["events_total"] = replayed.events;
    timeline["heap_size"] = heap_size ? json(*heap_size) : json(nullptr);
    // The timeline holds the series at the page's resolution, and the page
    // shows no macro list: the document's copies would only weigh.
    profile.erase("series");
    if (profile.contains("variant") && profile["variant"].is_object()) {
        profile["variant"].erase("effective_macros");
    }
    return {{"name", name},
            {"profile", std::move(profile)},
            {"timeline", std::move(timeline)},
            {"alive_at_peak", at_peak.json()}};
}

json html_document_view(const std::string& name, json profile) {
    return {{"name", name},
            {"profile", std::move(profile)},
            {"timeline", nullptr},
            {"alive_at_peak", nullptr}};
}

std::string html_page(const std::string& title, const std::string& kind, const json& views,
                      const json& sweep) {
    const json data = {{"kind", kind}, {"title", title}, {"views", views}, {"sweep", sweep}};
    std::string page;
    page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    // Opens from disk with nothing fetched: no script, style or font from elsewhere.
    page += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n";
    page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    page += "<title>" + html_escaped(title) + "</title>\n<style>\n";
    page += kHtmlReportCss;
    page += "</style>\n</head>\n<body>\n";
    page += "<script>\n";
    page += kHtmlReportErrorsJs;
    page += "</script>\n";
    page += "<header><h1 id=\"title\"></h1><p id=\"subtitle\"></p></header>\n";
    page += "<main id=\"report\"></main>\n<div id=\"tooltip\" hidden></div>\n";
    page += "<script type=\"application/json\" id=\"tlsheap-data\">";
    page += script_safe_json(data);
    page += "</script>\n<script>\n";
    page += kHtmlReportJs;
    page += "</script>\n</body>\n</html>\n";
    return page;
}

} // namespace tlsheap::report
