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
  RETURN_IF_ERROR(ResolveSymbols(
      handle, kSoname,
      Symbol{"curl_global_init", library.global_init},
      Symbol{"curl_easy_init", library.easy_init},
      Symbol{"curl_easy_setopt", library.easy_setopt},
      Symbol{"curl_easy_perform", library.easy_perform},
      Symbol{"curl_easy_getinfo", library.easy_getinfo},
      Symbol{"curl_easy_cleanup", library.easy_cleanup},
      Symbol{"curl_easy_strerror", library.easy_strerror},
      Symbol{"curl_slist_append", library.slist_append},
      Symbol{"curl_slist_free_all", library.slist_free_all},
      Symbol{"curl_url", library.url},
      Symbol{"curl_url_cleanup", library.url_cleanup},
      Symbol{"curl_url_set", library.url_set},
      Symbol{"curl_url_get", library.url_get},
      Symbol{"curl_free", library.free}));
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
