// Docker Registry HTTP API v2 / OCI distribution, plain HTTP, anonymous.

#include <map>

#include "agent/images/digest.hpp"
#include "agent/images/image_source.hpp"
#include "common/http_client.hpp"

namespace agora::agent::images {

namespace {

constexpr int kMaxRedirects = 5;
constexpr int kMaxIndexDepth = 4;
constexpr auto kManifestTimeout = std::chrono::seconds(30);
constexpr auto kBlobTimeout = std::chrono::minutes(10);

std::string acceptHeader() {
  return std::string(kOciManifest) + ", " + std::string(kOciIndex) + ", " +
         std::string(kDockerManifest) + ", " + std::string(kDockerManifestList);
}

class RegistrySource : public ImageSource {
 public:
  explicit RegistrySource(ImageReference ref)
      : ref_(std::move(ref)),
        what_(ref_.toString()),
        base_("http://" + ref_.host + "/v2/" + ref_.repository) {}

  Result<Manifest> resolve() override {
    std::string reference = ref_.digest.empty() ? ref_.tag : ref_.digest;
    std::string expected = ref_.digest;
    for (int depth = 0; depth < kMaxIndexDepth; ++depth) {
      auto response = get(base_ + "/manifests/" + reference, kManifestTimeout,
                          {{"Accept", acceptHeader()}});
      if (!response) return makeError(response.error());
      const std::string digest = sha256Digest(response->body);
      auto header = response->headers.find("docker-content-digest");
      if (expected.empty() && header != response->headers.end()) expected = header->second;
      if (!expected.empty()) {
        if (auto ok = checkDigest(what_ + ": manifest " + reference, expected, digest); !ok) {
          return makeError(ok.error());
        }
      }
      auto type = response->headers.find("content-type");
      auto mediaType = documentMediaType(
          response->body, type == response->headers.end() ? "" : type->second);
      if (!mediaType) return makeError(mediaType.error().withContext(what_));
      if (isIndexMediaType(*mediaType)) {
        auto desc = pickPlatformManifest(response->body, what_ + " index " + digest);
        if (!desc) return makeError(desc.error());
        reference = expected = desc->digest;
        continue;
      }
      auto manifest = parseManifest(response->body, what_ + " manifest " + digest);
      if (!manifest) return makeError(manifest.error());
      manifest->digest = digest;
      return manifest;
    }
    return makeError(ErrorCode::kProtocol, what_ + ": indexes nested too deeply");
  }

  Result<std::string> blobFile(const Descriptor& blob, const std::string& scratchPath) override {
    auto response = get(base_ + "/blobs/" + blob.digest, kBlobTimeout, {}, scratchPath);
    if (!response) return makeError(response.error());
    return scratchPath;
  }

 private:
  // GET following redirects; non-2xx answers become errors naming the URL.
  // With `bodyPath`, a successful body is streamed to that file.
  Result<http::ClientResponse> get(std::string url, std::chrono::milliseconds timeout,
                                   const std::map<std::string, std::string>& headers,
                                   const std::string& bodyPath = "") {
    for (int hop = 0; hop <= kMaxRedirects; ++hop) {
      auto response = bodyPath.empty()
                          ? http::requestWithHeaders("GET", url, headers, "", timeout)
                          : http::requestToFile("GET", url, headers, bodyPath, timeout);
      if (!response) return makeError(response.error().withContext(what_));
      int status = response->status;
      if (status >= 300 && status < 400 && response->headers.contains("location")) {
        std::string location = response->headers["location"];
        url = location.starts_with("/") ? "http://" + ref_.host + location : location;
        continue;
      }
      if (status >= 200 && status < 300) return response;
      std::string body = response->body.substr(0, 300);
      if (status == 404) {
        return makeError(ErrorCode::kNotFound, what_ + ": GET " + url + ": not found (404) " + body);
      }
      if (status == 401 || status == 403) {
        return makeError(ErrorCode::kPermissionDenied,
                         what_ + ": GET " + url + ": " + std::to_string(status) +
                             " (registry authentication is not supported)");
      }
      return makeError(ErrorCode::kUnavailable,
                       what_ + ": GET " + url + ": HTTP " + std::to_string(status) + " " + body);
    }
    return makeError(ErrorCode::kProtocol, what_ + ": too many redirects");
  }

  ImageReference ref_;
  std::string what_;
  std::string base_;
};

}  // namespace

std::unique_ptr<ImageSource> makeRegistrySource(ImageReference ref) {
  return std::make_unique<RegistrySource>(std::move(ref));
}

}  // namespace agora::agent::images
