#pragma once
// How the CLI prints numbers and JSON, the same in every command.

#include <iosfwd>
#include <string>

namespace agora::cli {

// Resource amounts and other decimals as a person writes them: "1", "0.5",
// "1048576", "0.125" — never "1.000", "0.50000000001" or "1.04858e+06".
// Rounded to three decimals, the precision of Resources' fixed point.
std::string formatNumber(double value);

// Wall seconds as "2026-12-07 00:41:05.250 UTC"; "-" for 0 or less.
std::string formatUtc(double seconds);

// `-o json`: indented when `pretty` (a person reads a terminal), one
// compact line otherwise (a program reads a pipe). A body that is not JSON
// is written as it came. Ends with a newline.
void writeJson(std::ostream& out, const std::string& body, bool pretty);
// writeJson to stdout, pretty when stdout is a terminal (isatty).
void printJson(const std::string& body);

// Task output, byte for byte: all of `data` to `fd`, retrying short writes;
// stops quietly once the reader is gone (a closed pipe).
void writeAll(int fd, const std::string& data);

}  // namespace agora::cli
