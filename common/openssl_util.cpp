#include "common/openssl_util.hpp"

#include <openssl/err.h>

namespace agora::tls::detail {

std::string takeErrors() {
  std::string out;
  for (unsigned long code = ERR_get_error(); code != 0; code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    // "error:0A000086:SSL routines::certificate verify failed": keep the reason.
    std::string_view line(text);
    size_t colon = line.rfind(':');
    if (colon != std::string_view::npos && colon + 1 < line.size()) line.remove_prefix(colon + 1);
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

std::string commonName(const X509* certificate) {
  const X509_NAME* subject = X509_get_subject_name(certificate);
  if (subject == nullptr) return "";
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return "";
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return name;
}

}  // namespace agora::tls::detail
