#ifndef BERTH_IMAGE_CURL_LIBRARY_H_
#define BERTH_IMAGE_CURL_LIBRARY_H_

#include "absl/status/status.h"
#include "curl/curl.h"

namespace berth::image {

// libcurl's entry points the registry client uses, resolved from libcurl.so.4 on the first
// request instead of being linked into berthd. Linked, libcurl and what it depends on (GnuTLS
// through librtmp, whose constructor initialises GnuTLS and p11-kit; Kerberos, LDAP, libssh2,
// nghttp2...) are loaded, relocated and initialised at every start: ~3.7 MiB of idle RSS in a
// daemon that may never pull.
struct CurlLibrary {
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_perform) easy_perform = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  decltype(&curl_slist_append) slist_append = nullptr;
  decltype(&curl_slist_free_all) slist_free_all = nullptr;
  decltype(&curl_url) url = nullptr;
  decltype(&curl_url_cleanup) url_cleanup = nullptr;
  decltype(&curl_url_set) url_set = nullptr;
  decltype(&curl_url_get) url_get = nullptr;
  decltype(&curl_free) free = nullptr;
};

// Loads libcurl and runs curl_global_init, once per process (thread-safe). A failure is
// FailedPrecondition naming the library and stays the answer for the process's life.
absl::Status LoadCurl();

// The loaded library; only after LoadCurl() returned OK.
const CurlLibrary& Curl();

}  // namespace berth::image

#endif  // BERTH_IMAGE_CURL_LIBRARY_H_
