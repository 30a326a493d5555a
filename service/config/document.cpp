#include "config/document.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "common/utf8.hpp"
#include "config/key_path.hpp"

namespace trawler::config {
namespace {

using json = nlohmann::json;
using detail::index_key;
using detail::join_key;

// Bounds YAML alias expansion ("billion laughs") and nesting; real configs have ~50 nodes.
constexpr std::size_t max_yaml_nodes = 100000;
constexpr int max_yaml_depth = 64;
// A document's own problems listed at most: an alias repeated 100,000 times repeats its
// problem as often, which would cost seconds and megabytes to build and report.
constexpr std::size_t max_document_errors = 100;
constexpr std::size_t max_file_bytes = 16 * 1024 * 1024;

std::string error_key(const std::string& path) {
  return path.empty() ? "config" : path;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (!next_code_point(s, i)) return false;
  }
  return true;
}

std::string_view strip_sign(std::string_view s, bool& negative) {
  negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  return s;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_octal(char c) {
  return c >= '0' && c <= '7';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Integer per the YAML 1.2 core schema: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+.
std::optional<json> yaml_integer(std::string_view s) {
  int base = 10;
  bool negative = false;
  std::string_view digits;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    base = s[1] == 'o' ? 8 : 16;
    digits = s.substr(2);
    if (!all_of(digits, base == 8 ? is_octal : is_hex)) return std::nullopt;
  } else {
    digits = strip_sign(s, negative);
    if (!all_of(digits, is_digit)) return std::nullopt;
  }
  std::uint64_t magnitude = 0;
  const auto [ptr, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec == std::errc() && ptr == digits.data() + digits.size()) {
    if (!negative) return json(magnitude);
    if (magnitude <= static_cast<std::uint64_t>(INT64_MAX) + 1) {
      return json(static_cast<std::int64_t>(0 - magnitude));
    }
  }
  if (base != 10) return std::nullopt;
  // Too large for 64 bits: still a number (so range errors read naturally), as a double.
  double d = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), d);
  return json(negative ? -d : d);
}

// Float per the YAML 1.2 core schema, without .inf/.nan (JSON has no such numbers; they
// stay strings and fail validation with their own spelling).
std::optional<json> yaml_float(std::string_view s) {
  bool negative = false;
  std::string_view body = strip_sign(s, negative);
  std::size_t i = 0;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < body.size() && is_digit(body[i])) ++i, ++int_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && is_digit(body[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return std::nullopt;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < body.size() && is_digit(body[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != body.size()) return std::nullopt;
  double d = 0;
  const auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), d);
  if (ec != std::errc() || !std::isfinite(d)) return std::nullopt;
  return json(negative ? -d : d);
}

std::optional<json> yaml_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return json(true);
  if (s == "false" || s == "False" || s == "FALSE") return json(false);
  return std::nullopt;
}

bool yaml_null(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// yaml-cpp gives every scalar as text plus a tag: "?" for plain scalars (resolved here),
// "!" for quoted and block scalars (always strings), or an explicit "!!type".
class yaml_converter {
 public:
  explicit yaml_converter(std::vector<config_error>& errors) : errors_(errors) {}

  // The converted document; the problems found go to `errors` (at most max_document_errors
  // of them, then one line saying how many more).
  json run(const YAML::Node& root) {
    json out = convert(root, "", 0);
    if (dropped_ > 0) {
      errors_.push_back({"config", "and " + std::to_string(dropped_) + " more problems"});
    }
    return out;
  }

 private:
  json convert(const YAML::Node& node, const std::string& path, int depth) {
    if (++nodes_ > max_yaml_nodes || depth > max_yaml_depth) {
      if (!too_big_) {
        too_big_ = true;
        // Listed whatever else was: it says why the rest of the document was not read.
        errors_.push_back({"config", "document too large or too deeply nested (over " +
                                         std::to_string(max_yaml_nodes) + " values or " +
                                         std::to_string(max_yaml_depth) + " levels)"});
      }
      return nullptr;
    }
    if (!node.IsMap() && !node.IsSequence()) return convert_node(node, path, depth);
    // An alias inside the node it names (`a: &x {b: *x}`) would expand forever.
    for (const auto& outer : ancestors_) {
      if (outer.is(node)) {
        report({error_key(path), "a YAML alias refers to a mapping or list that contains it"});
        return nullptr;
      }
    }
    ancestors_.push_back(node);
    json out = convert_node(node, path, depth);
    ancestors_.pop_back();
    return out;
  }

  json convert_node(const YAML::Node& node, const std::string& path, int depth) {
    switch (node.Type()) {
      case YAML::NodeType::Scalar:
        return scalar(node, path);
      case YAML::NodeType::Sequence: {
        json out = json::array();
        std::size_t index = 0;
        for (const auto& child : node) {
          out.push_back(convert(child, index_key(path, index++), depth + 1));
        }
        return out;
      }
      case YAML::NodeType::Map: {
        json out = json::object();
        for (auto it = node.begin(); it != node.end(); ++it) {
          if (!it->first.IsScalar()) {
            report({error_key(path), "mapping keys must be strings"});
            continue;
          }
          const std::string& key = it->first.Scalar();
          const std::string child_path = join_key(path, key);
          if (!valid_utf8(key)) {
            report({error_key(path), "key is not valid UTF-8"});
            continue;
          }
          if (out.contains(key)) {
            report({child_path, "duplicate key"});
            continue;
          }
          out[key] = convert(it->second, child_path, depth + 1);
        }
        return out;
      }
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        break;
    }
    return nullptr;
  }

  void report(config_error e) {
    if (errors_.size() < max_document_errors) {
      errors_.push_back(std::move(e));
    } else {
      ++dropped_;
    }
  }

  json scalar(const YAML::Node& node, const std::string& path) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (!valid_utf8(text)) {
      report({error_key(path), "not valid UTF-8"});
      return nullptr;
    }
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;
    std::optional<json> value;
    if (tag == "?") {
      if (auto v = yaml_bool(text)) return *v;
      if (auto v = yaml_integer(text)) return *v;
      if (auto v = yaml_float(text)) return *v;
      return text;
    } else if (tag == "tag:yaml.org,2002:int") {
      value = yaml_integer(text);
    } else if (tag == "tag:yaml.org,2002:float") {
      value = yaml_integer(text);
      if (!value) value = yaml_float(text);
    } else if (tag == "tag:yaml.org,2002:bool") {
      value = yaml_bool(text);
    } else if (tag == "tag:yaml.org,2002:null") {
      if (yaml_null(text)) value = json(nullptr);
    } else {
      report({error_key(path), "unsupported YAML tag " + tag});
      return text;
    }
    // A value that does not fit its tag stays a string: validation then names the key and
    // shows the text, as for any other value of the wrong type.
    return value ? *value : json(text);
  }

  std::vector<config_error>& errors_;
  std::size_t nodes_ = 0;
  bool too_big_ = false;
  std::size_t dropped_ = 0;
  std::vector<YAML::Node> ancestors_;  // the maps and lists around the node being converted
};

// Parser messages may quote raw input bytes (not UTF-8): those are written as \xNN, so an
// error stays valid UTF-8 wherever it goes (an API error body, a terminal).
std::string printable(std::string_view what) {
  std::string safe;
  safe.reserve(what.size());
  for (unsigned char c : what) {
    if (c < 0x80 && c >= 0x20) {
      safe += static_cast<char>(c);
    } else {
      static constexpr char hex[] = "0123456789ABCDEF";
      safe += "\\x";
      safe += hex[c >> 4];
      safe += hex[c & 15];
    }
  }
  return safe;
}

// Counts documents without building them. yaml-cpp 0.7's LoadAll never returns on a stream
// whose first token is a bare ',' (it reports a new document forever without consuming it), so
// the count stops at two: more than one is an error anyway.
class document_counter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

void parse_yaml(std::string_view text, std::string_view origin, document_result& out) {
  std::vector<YAML::Node> docs;
  try {
    std::string owned(text);
    std::istringstream stream(owned);
    YAML::Parser parser(stream);
    document_counter counter;
    int count = 0;
    while (count < 2 && parser.HandleNextDocument(counter)) ++count;
    if (count > 1) {
      out.errors.push_back(
          {"config", std::string(origin) + ": holds more than one YAML document, expected one"});
      return;
    }
    if (count == 1) docs.push_back(YAML::Load(owned));
  } catch (const YAML::Exception& e) {
    std::string message = std::string(origin) + ": invalid YAML";
    if (!e.mark.is_null()) {
      message += " at line " + std::to_string(e.mark.line + 1) + ", column " +
                 std::to_string(e.mark.column + 1);
    }
    out.errors.push_back({"config", message + ": " + printable(e.msg)});
    return;
  }
  if (docs.size() > 1) {
    out.errors.push_back({"config", std::string(origin) + ": holds " + std::to_string(docs.size()) +
                                        " YAML documents, expected one"});
    return;
  }
  out.parsed = true;
  if (docs.empty()) return;  // only comments or nothing: an empty config
  yaml_converter converter(out.errors);
  json doc = converter.run(docs.front());
  // A bare "---" or a comment-only document is as empty as an empty file.
  out.doc = doc.is_null() ? json::object() : std::move(doc);
}

// Tracks where the parser is, to name duplicate keys by their dotted path: nlohmann keeps
// the last of duplicate keys silently, which would hide a config mistake.
class json_path_tracker {
 public:
  explicit json_path_tracker(std::vector<config_error>& errors) : errors_(errors) {}

  bool on_event(json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        element_start();
        frames_.push_back({false, -1, {}, {}});
        break;
      case json::parse_event_t::array_start:
        element_start();
        frames_.push_back({true, -1, {}, {}});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case json::parse_event_t::key:
        if (!frames_.empty() && parsed.is_string()) {
          frame& top = frames_.back();
          top.key = parsed.get<std::string>();
          if (!top.keys.insert(top.key).second) errors_.push_back({path(), "duplicate key"});
        }
        break;
      case json::parse_event_t::value:
        element_start();
        break;
    }
    return true;
  }

 private:
  struct frame {
    bool array;
    long index;
    std::string key;
    std::set<std::string> keys;
  };

  void element_start() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
  }

  std::string path() const {
    std::string out;
    for (const frame& f : frames_) {
      if (f.array) {
        out += index_key("", static_cast<std::size_t>(f.index));
      } else {
        out = join_key(out, f.key);
      }
    }
    return out;
  }

  std::vector<config_error>& errors_;
  std::vector<frame> frames_;
};

bool parse_json(std::string_view text, std::string_view origin, document_result& out) {
  std::vector<config_error> errors;
  json_path_tracker tracker(errors);
  try {
    json doc = json::parse(
        text.begin(), text.end(),
        [&tracker](int, json::parse_event_t event, json& parsed) {
          return tracker.on_event(event, parsed);
        },
        /*allow_exceptions=*/true, /*ignore_comments=*/false);
    out.parsed = true;
    out.doc = std::move(doc);
    out.errors.insert(out.errors.end(), errors.begin(), errors.end());
    return true;
  } catch (const json::exception& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 2, column 3: ...";
    // out_of_range (a number too large) lands here too.
    std::string_view what = e.what();
    if (const auto pos = what.find("] "); pos != std::string_view::npos)
      what.remove_prefix(pos + 2);
    out.errors.push_back({"config", std::string(origin) + ": invalid JSON: " + printable(what)});
    return false;
  }
}

bool ends_with_json(std::string_view name) {
  if (name.size() < 5) return false;
  std::string tail(name.substr(name.size() - 5));
  for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return tail == ".json";
}

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

document_result parse_document(std::string_view text, std::string_view origin_name) {
  document_result out;
  std::string_view body = text;
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  const auto first = body.find_first_not_of(" \t\r\n");
  const bool looks_like_json = first != std::string_view::npos && body[first] == '{';

  if (first == std::string_view::npos) {
    out.parsed = true;  // an empty file is an empty config, whatever its name
    return out;
  }
  if (ends_with_json(origin_name)) {
    parse_json(body, origin_name, out);
    return out;
  }
  if (looks_like_json) {
    document_result as_json;
    if (parse_json(body, origin_name, as_json)) return as_json;
    parse_yaml(body, origin_name, out);
    // Both failed: the JSON parser's message is the useful one for text starting with '{'.
    if (out.parsed) return out;
    return as_json;
  }
  parse_yaml(body, origin_name, out);
  return out;
}

document_result read_document(const std::string& path, std::string_view read_error_key) {
  const auto fail = [&](const std::string& reason) {
    document_result out;
    out.errors.push_back({std::string(read_error_key), "cannot read \"" + path + "\": " + reason});
    return out;
  };
  std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) return fail(std::strerror(errno));
  std::string text;
  char buffer[16384];
  while (true) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    text.append(buffer, n);
    if (text.size() > max_file_bytes) {
      return fail("larger than " + std::to_string(max_file_bytes) + " bytes");
    }
    if (n < sizeof buffer) {
      // A directory opens fine on Linux and fails here with EISDIR.
      if (std::ferror(file.get())) return fail(std::strerror(errno));
      break;
    }
  }
  return parse_document(text, path);
}

}  // namespace trawler::config
