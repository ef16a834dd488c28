#include "image/curl_library.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "image/shared_object.h"

namespace berth::image {
namespace {

// The soname berth is built against (Debian's libcurl4, the OpenSSL flavour: the registry
// client's CA callback is handed an OpenSSL SSL_CTX).
constexpr char kSoname[] = "libcurl.so.4";

CurlLibrary library;

absl::Status Load() {
  ASSIGN_OR_RETURN(void* handle, OpenSharedObject(kSoname, "the registry client"));
  auto resolve = [&](const char* name, auto& out) {
    return ResolveSymbol(handle, kSoname, name, out);
  };
  for (absl::Status status : {
           resolve("curl_global_init", library.global_init),
           resolve("curl_easy_init", library.easy_init),
           resolve("curl_easy_setopt", library.easy_setopt),
           resolve("curl_easy_perform", library.easy_perform),
           resolve("curl_easy_getinfo", library.easy_getinfo),
           resolve("curl_easy_cleanup", library.easy_cleanup),
           resolve("curl_easy_strerror", library.easy_strerror),
           resolve("curl_slist_append", library.slist_append),
           resolve("curl_slist_free_all", library.slist_free_all),
           resolve("curl_url", library.url),
           resolve("curl_url_cleanup", library.url_cleanup),
           resolve("curl_url_set", library.url_set),
           resolve("curl_url_get", library.url_get),
           resolve("curl_free", library.free),
       }) {
    RETURN_IF_ERROR(status);
  }
  if (CURLcode code = library.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
    return absl::FailedPreconditionError(
        absl::StrCat("curl_global_init failed: ", library.easy_strerror(code)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LoadCurl() {
  static const absl::Status* const status = new absl::Status(Load());
  return *status;
}

const CurlLibrary& Curl() { return library; }

}  // namespace berth::image
