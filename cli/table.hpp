#pragma once
// Plain-text tables with aligned columns, for terminal output.

#include <string>
#include <vector>

namespace agora::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // Missing cells render empty; extra cells are dropped.
  void addRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // Header line then one line per row; columns separated by two spaces, the
  // last column not padded. Widths count UTF-8 code points.
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace agora::cli
