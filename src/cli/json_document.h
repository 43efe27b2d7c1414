// JSON documents in and out of the commands.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tlsheap::cli {

// Reads a JSON document tlsheap wrote; `what` names it in errors ("the
// baseline b.json is not JSON: ..."). Throws UserError (exit 2).
nlohmann::json read_document(const std::string& path, const std::string& what = "document");

// On stderr, a warning per cell of `document` (a profile, profile-abis or
// sweep document read from `path`) that was profiled from a truncated trace:
// comparing or gating on it compares a handshake cut short. Documents that
// are not one of those are left to the command to refuse.
void warn_truncated_traces(const std::string& path, const nlohmann::json& document);

// Throws UserError (exit 2) unless `format` is "tlsheap" or a dashboard
// format, and unless a dashboard format has a document to convert (`json`,
// the command's --json, is given): commands check it before they run
// anything.
void check_format(const std::string& format, const std::string& json);

// With `--json -` standard output carries the JSON document alone, so that
// a script can parse it: from this call on, what the command prints for
// people (progress, reports, tables) goes to stderr, and the document goes
// to the real stdout. Every command that takes --json calls it first, with
// the option's value; any other value changes nothing.
void reserve_stdout_for_json(const std::string& json_path);

// Writes text to the file `path` ("-": stdout). Throws UserError (exit 2)
// when it cannot be written.
void write_text_file(const std::string& path, const std::string& text);

// Writes a document to the file `path` ("-": stdout), indented. Throws
// UserError (exit 2) when it cannot be written.
void write_json_file(const std::string& path, const nlohmann::json& document);

// Writes a document as JSON ("-": stdout); `format` "tlsheap" writes it as it is,
// "benchmark-action" and "bmf" convert it for dashboards first. Throws
// UserError (exit 2) for an unknown format or an unwritable file.
void write_document(const std::string& path, const nlohmann::json& document,
                    const std::string& format);

} // namespace tlsheap::cli
