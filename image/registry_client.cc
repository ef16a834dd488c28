#include "image/registry_client.h"

#include <dirent.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "common/version.h"
#include "curl/curl.h"
#include "image/curl_library.h"
#include "image/reference.h"
#include "nlohmann/json.hpp"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"

namespace berth::image {

struct RegistryClient::Target {
  std::string registry;    // the endpoint's domain as the reference names it
  std::string api_host;    // where its API lives ("registry-1.docker.io" for docker.io)
  std::string repository;  // the path inside the registry
  std::string image;       // the reference, for messages
  std::string scope;       // "repository:<path>:pull"
  bool insecure = false;
  const Credentials* creds = nullptr;  // credentials that belong to this registry, or null
  PingResult ping;
};

struct RegistryClient::Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;
  std::string
      authorization;      // sent only to the origin of `url`, never after a cross-origin redirect
  std::string post_form;  // POST body (application/x-www-form-urlencoded)
  std::string relaxed_origin;    // the origin whose TLS certificate is not verified; "" for none
  bool allow_downgrade = false;  // follow a redirect from https to http
  size_t max_body = 64 << 10;    // cap for bodies that do not go to a sink
};

struct RegistryClient::Response {
  long status = 0;                             // NOLINT(google-runtime-int): libcurl's type
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // when not given to a sink
  std::string redirect_url;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

namespace {

constexpr int kMaxRedirects = 10;
constexpr size_t kMaxTokenResponseBytes = 1 << 20;
constexpr absl::Duration kPingLifetime = absl::Minutes(10);

struct CurlDeleter {
  void operator()(CURL* curl) const { Curl().easy_cleanup(curl); }
  void operator()(curl_slist* list) const { Curl().slist_free_all(list); }
  void operator()(CURLU* url) const { Curl().url_cleanup(url); }
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  void operator()(BIO* bio) const { BIO_free(bio); }
};

// A URL's parts that decide where credentials and TLS settings apply.
struct UrlParts {
  std::string scheme;
  std::string host;       // "[::1]" for IPv6
  std::string authority;  // host[:port] as written: the certs.d directory name
  std::string origin;     // scheme://host:port with the default port filled in
};

// Every request parses its URL first, so this is where libcurl is loaded and initialised (not
// when the client is built: curl's global init also initialises OpenSSL and libssh2, memory a
// node that never pulls does not need).
absl::StatusOr<UrlParts> ParseUrl(const std::string& url) {
  RETURN_IF_ERROR(LoadCurl());
  std::unique_ptr<CURLU, CurlDeleter> handle(Curl().url());
  if (handle == nullptr) return absl::ResourceExhaustedError("curl_url failed");
  if (Curl().url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("invalid URL \"", url.substr(0, 200), "\""));
  }
  auto part = [&](CURLUPart which, unsigned int flags) {
    char* value = nullptr;
    std::string out;
    if (Curl().url_get(handle.get(), which, &value, flags) == CURLUE_OK && value != nullptr) {
      out = value;
    }
    Curl().free(value);
    return out;
  };
  UrlParts parts;
  parts.scheme = absl::AsciiStrToLower(part(CURLUPART_SCHEME, 0));
  parts.host = absl::AsciiStrToLower(part(CURLUPART_HOST, 0));
  if (parts.scheme != "http" && parts.scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("URL \"", url.substr(0, 200), "\" is not http or https"));
  }
  std::string port = part(CURLUPART_PORT, 0);
  parts.authority = port.empty() ? parts.host : absl::StrCat(parts.host, ":", port);
  parts.origin =
      absl::StrCat(parts.scheme, "://", parts.host, ":", part(CURLUPART_PORT, CURLU_DEFAULT_PORT));
  return parts;
}

// For logs: a URL without its query, which may hold signatures (blob storage redirects).
std::string Redacted(const std::string& url) { return url.substr(0, url.find('?')); }

// A streaming hash for "algorithm:hex" digests.
class Digester {
 public:
  static absl::StatusOr<Digester> For(absl::string_view digest) {
    std::string algorithm(digest.substr(0, digest.find(':')));
    const EVP_MD* md = algorithm == "sha256"   ? EVP_sha256()
                       : algorithm == "sha384" ? EVP_sha384()
                       : algorithm == "sha512" ? EVP_sha512()
                                               : nullptr;
    if (md == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported digest algorithm \"", algorithm.substr(0, 40), "\""));
    }
    std::unique_ptr<EVP_MD_CTX, CurlDeleter> ctx(EVP_MD_CTX_new());
    if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
      return absl::InternalError("EVP_DigestInit_ex failed");
    }
    return Digester(std::move(algorithm), std::move(ctx));
  }

  void Update(absl::string_view data) { EVP_DigestUpdate(ctx_.get(), data.data(), data.size()); }

  std::string Final() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx_.get(), out, &size);
    return absl::StrCat(
        algorithm_, ":",
        absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(out), size)));
  }

 private:
  Digester(std::string algorithm, std::unique_ptr<EVP_MD_CTX, CurlDeleter> ctx)
      : algorithm_(std::move(algorithm)), ctx_(std::move(ctx)) {}
  std::string algorithm_;
  std::unique_ptr<EVP_MD_CTX, CurlDeleter> ctx_;
};

std::string Sha256Of(absl::string_view data) {
  absl::StatusOr<Digester> digester = Digester::For("sha256:");
  digester->Update(data);
  return digester->Final();
}

// Tokens obtained with some credentials are never handed to a request with other ones.
std::string CredentialsKey(const Credentials* creds) {
  if (creds == nullptr) return "anonymous";
  return Sha256Of(absl::StrCat(creds->username, std::string(1, '\0'), creds->password,
                               std::string(1, '\0'), creds->identity_token));
}

std::string BasicAuthorization(const Credentials& creds) {
  return absl::StrCat("Basic ",
                      absl::Base64Escape(absl::StrCat(creds.username, ":", creds.password)));
}

// What a registry said about an error: " (CODE: message)" from an OCI error body.
std::string RegistryErrorDetail(const std::string& body) {
  nlohmann::json doc =
      nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return "";
  auto errors = doc.find("errors");
  if (errors == doc.end() || !errors->is_array() || errors->empty()) return "";
  const nlohmann::json& first = (*errors)[0];
  if (!first.is_object()) return "";
  std::string code = first.value("code", "");
  std::string message = first.value("message", "");
  std::string detail = absl::StrCat(" (", code, code.empty() || message.empty() ? "" : ": ",
                                    message.substr(0, 200), ")");
  return detail == " ()" ? "" : detail;
}

// Per-transfer state the curl callbacks write into.
struct Transfer {
  CURL* curl = nullptr;
  const BlobSink* sink = nullptr;  // receives 2xx bodies
  size_t max_body = 0;             // cap for other bodies
  long status = 0;                 // NOLINT(google-runtime-int)
  std::map<std::string, std::string> headers;
  std::string body;
  absl::Status error;  // why a callback stopped the transfer
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  absl::string_view line(data, size * count);
  if (absl::StartsWith(line, "HTTP/")) {
    transfer->headers.clear();  // a new response (after 100 Continue)
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    transfer->headers[absl::AsciiStrToLower(line.substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  absl::string_view chunk(data, size * count);
  if (transfer->status == 0)
    Curl().easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &transfer->status);
  if (transfer->sink != nullptr && transfer->status >= 200 && transfer->status < 300) {
    transfer->error = (*transfer->sink)(chunk);
    return transfer->error.ok() ? chunk.size() : 0;
  }
  if (transfer->body.size() + chunk.size() > transfer->max_body) {
    transfer->error = absl::ResourceExhaustedError(
        absl::StrCat("response body larger than ", transfer->max_body, " bytes"));
    return 0;
  }
  transfer->body.append(chunk.data(), chunk.size());
  return chunk.size();
}

// Extra trust for one registry: CA certificates and a client certificate from certs.d.
struct TlsFiles {
  std::string ca_pem;  // concatenated *.crt files
  std::string client_cert;
  std::string client_key;
};

absl::StatusOr<TlsFiles> LoadCertsDir(const std::string& certs_dir, const std::string& authority) {
  TlsFiles files;
  if (certs_dir.empty() || authority.find('/') != std::string::npos || authority == ".." ||
      authority == ".") {
    return files;
  }
  std::string dir = absl::StrCat(certs_dir, "/", authority);
  std::unique_ptr<DIR, int (*)(DIR*)> handle(opendir(dir.c_str()), closedir);
  if (handle == nullptr) return files;  // no directory: system CAs only
  std::vector<std::string> names;
  while (struct dirent* entry = readdir(handle.get())) names.push_back(entry->d_name);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string path = absl::StrCat(dir, "/", name);
    if (absl::EndsWith(name, ".crt")) {
      ASSIGN_OR_RETURN(std::string pem, ReadFile(path, 1 << 20));
      absl::StrAppend(&files.ca_pem, pem, "\n");
    } else if (absl::EndsWith(name, ".cert") && files.client_cert.empty()) {
      std::string key = absl::StrCat(dir, "/", name.substr(0, name.size() - 5), ".key");
      if (access(key.c_str(), R_OK) != 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("client certificate ", path, " has no matching key ", key));
      }
      files.client_cert = path;
      files.client_key = key;
    }
  }
  return files;
}

// Adds the PEM certificates in `user` to the trust store libcurl built from the system CAs.
CURLcode AddCaCertificates(CURL*, void* ssl_ctx, void* user) {
  const auto* pem = static_cast<const std::string*>(user);
  X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
  std::unique_ptr<BIO, CurlDeleter> bio(
      BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  if (store == nullptr || bio == nullptr) return CURLE_SSL_CERTPROBLEM;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);  // a duplicate of a system CA is fine
    X509_free(cert);
  }
  ERR_clear_error();  // the loop ends with a "no start line" error
  return CURLE_OK;
}

void ConfigureTls(CURL* h, const TlsFiles& files, bool verify) {
  Curl().easy_setopt(h, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
  Curl().easy_setopt(h, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  if (!files.ca_pem.empty()) {
    Curl().easy_setopt(h, CURLOPT_CA_CACHE_TIMEOUT, 0L);
    Curl().easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, AddCaCertificates);
    Curl().easy_setopt(h, CURLOPT_SSL_CTX_DATA, &files.ca_pem);
  }
  if (!files.client_cert.empty()) {
    Curl().easy_setopt(h, CURLOPT_SSLCERT, files.client_cert.c_str());
    Curl().easy_setopt(h, CURLOPT_SSLKEY, files.client_key.c_str());
  }
}

absl::StatusOr<std::unique_ptr<curl_slist, CurlDeleter>> HeaderList(
    const std::vector<std::string>& lines) {
  std::unique_ptr<curl_slist, CurlDeleter> headers;
  for (const std::string& line : lines) {
    curl_slist* list = Curl().slist_append(headers.get(), line.c_str());
    if (list == nullptr) return absl::ResourceExhaustedError("curl_slist_append failed");
    headers.release();  // `list` now owns the old head
    headers.reset(list);
  }
  curl_slist* list = Curl().slist_append(headers.get(), "Expect:");  // no 100-continue round trip
  if (list == nullptr) return absl::ResourceExhaustedError("curl_slist_append failed");
  headers.release();
  headers.reset(list);
  return headers;
}

void SetTransferOptions(CURL* h, const RegistryClient::Options& options, const std::string& url,
                        curl_slist* headers, Transfer* transfer, char* error_buffer) {
  static const std::string kUserAgent = absl::StrCat("berth/", kVersion);
  Curl().easy_setopt(h, CURLOPT_URL, url.c_str());
  Curl().easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  Curl().easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  Curl().easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // redirects are followed by Execute
  Curl().easy_setopt(h, CURLOPT_USERAGENT, kUserAgent.c_str());
  Curl().easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  Curl().easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options.connect_timeout)));
  Curl().easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  Curl().easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                   std::max(1L, static_cast<long>(absl::ToInt64Seconds(options.stall_timeout))));
  Curl().easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  Curl().easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  Curl().easy_setopt(h, CURLOPT_HEADERDATA, transfer);
  Curl().easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  Curl().easy_setopt(h, CURLOPT_WRITEDATA, transfer);
}

// A certificate problem, saying what berthd trusts for `authority` so the fix is evident.
absl::Status TlsTrustError(const std::string& target, CURLcode code, const char* error_buffer,
                           const std::string& certs_dir, const std::string& authority) {
  std::string detail = error_buffer[0] != '\0' ? error_buffer : Curl().easy_strerror(code);
  std::string dir = absl::StrCat(certs_dir, "/", authority);
  if (code == CURLE_SSL_CERTPROBLEM) {
    return absl::FailedPreconditionError(
        absl::StrCat(target, ": the client certificate in ", dir, " is unusable (", detail, ")"));
  }
  std::string trusted = certs_dir.empty() ? "only the system CAs (registry_certs_dir is empty)"
                                          : absl::StrCat("the system CAs and ", dir,
                                                         "/*.crt, where the registry's CA belongs");
  return absl::FailedPreconditionError(absl::StrCat(
      target, ": TLS certificate verification failed (", detail, "); trusted are ", trusted));
}

bool IsRedirect(long status) {  // NOLINT(google-runtime-int)
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

const AuthChallenge* FindChallenge(const std::vector<AuthChallenge>& challenges,
                                   absl::string_view scheme) {
  for (const AuthChallenge& challenge : challenges) {
    if (challenge.scheme == scheme) return &challenge;
  }
  return nullptr;
}

}  // namespace

RegistryClient::RegistryClient(Options options) : options_(std::move(options)) {}

absl::StatusOr<RegistryClient::Response> RegistryClient::Exchange(const Request& request,
                                                                  const std::string& url,
                                                                  bool with_auth,
                                                                  const BlobSink* sink) {
  ASSIGN_OR_RETURN(UrlParts parts, ParseUrl(url));
  TlsFiles tls;
  if (parts.scheme == "https") {
    ASSIGN_OR_RETURN(tls, LoadCertsDir(options_.certs_dir, parts.authority));
  }
  std::unique_ptr<CURL, CurlDeleter> curl(Curl().easy_init());
  if (curl == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
  std::vector<std::string> lines = request.headers;
  if (with_auth && !request.authorization.empty()) {
    lines.push_back(absl::StrCat("Authorization: ", request.authorization));
  }
  using HeaderPtr = std::unique_ptr<curl_slist, CurlDeleter>;
  ASSIGN_OR_RETURN(HeaderPtr headers, HeaderList(lines));
  CURL* h = curl.get();
  Transfer transfer{.curl = h, .sink = sink, .max_body = request.max_body};
  char error_buffer[CURL_ERROR_SIZE] = {};
  SetTransferOptions(h, options_, url, headers.get(), &transfer, error_buffer);
  if (request.method == "POST") {
    Curl().easy_setopt(h, CURLOPT_POSTFIELDS, request.post_form.c_str());
    Curl().easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.post_form.size()));
  }
  if (parts.scheme == "https") ConfigureTls(h, tls, request.relaxed_origin != parts.origin);

  LOG_DEBUG("registry: {} {}", request.method, Redacted(url));
  CURLcode code = Curl().easy_perform(h);
  std::string target = absl::StrCat(request.method, " ", Redacted(url));
  if (!transfer.error.ok()) return transfer.error;
  if (code == CURLE_PARTIAL_FILE) {
    return absl::DataLossError(absl::StrCat(target, ": the body is truncated: ", error_buffer));
  }
  if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
      code == CURLE_SSL_CERTPROBLEM) {
    // Not transient: no retry helps until someone installs the right certificate.
    return TlsTrustError(target, code, error_buffer, options_.certs_dir, parts.authority);
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return absl::UnavailableError(absl::StrCat(target, ": timed out or stalled: ", error_buffer));
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(
        target, ": ", error_buffer[0] != '\0' ? error_buffer : Curl().easy_strerror(code)));
  }
  Response response;
  Curl().easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  char* redirect = nullptr;
  if (Curl().easy_getinfo(h, CURLINFO_REDIRECT_URL, &redirect) == CURLE_OK && redirect != nullptr) {
    response.redirect_url = redirect;
  }
  response.headers = std::move(transfer.headers);
  response.body = std::move(transfer.body);
  return response;
}

absl::StatusOr<RegistryClient::Response> RegistryClient::Execute(const Request& request,
                                                                 const BlobSink* sink) {
  ASSIGN_OR_RETURN(UrlParts first, ParseUrl(request.url));
  Request hop = request;
  std::string url = request.url;
  for (int i = 0; i <= kMaxRedirects; ++i) {
    ASSIGN_OR_RETURN(UrlParts parts, ParseUrl(url));
    // Credentials belong to the origin they were meant for: a redirect elsewhere (blob
    // storage, a CDN) gets none.
    ASSIGN_OR_RETURN(Response response, Exchange(hop, url, parts.origin == first.origin, sink));
    if (!IsRedirect(response.status) || response.redirect_url.empty()) return response;
    absl::StatusOr<UrlParts> next = ParseUrl(response.redirect_url);
    if (!next.ok()) {
      return absl::UnavailableError(
          absl::StrCat(Redacted(url), " redirects to an unusable URL: ", next.status().message()));
    }
    if (parts.scheme == "https" && next->scheme == "http" && !request.allow_downgrade) {
      return absl::PermissionDeniedError(
          absl::StrCat(Redacted(url), " redirects from https to plain http; refused"));
    }
    LOG_DEBUG("registry: {} redirects to {}", Redacted(url), Redacted(response.redirect_url));
    if (response.status == 303) {
      hop.method = "GET";
      hop.post_form.clear();
    }
    url = response.redirect_url;
  }
  return absl::UnavailableError(
      absl::StrCat(Redacted(request.url), ": more than ", kMaxRedirects, " redirects"));
}

absl::StatusOr<RegistryClient::Response> RegistryClient::SendWithRetries(
    const Request& request, const BlobSink* sink, const std::function<bool()>& can_retry) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<Response> response = Execute(request, sink);
    bool transient = response.ok() ? (response->status == 429 || response->status >= 500)
                                   : absl::IsUnavailable(response.status());
    if (!transient || attempt >= options_.retries || (can_retry && !can_retry())) {
      return response;
    }
    absl::Duration delay = options_.retry_backoff * (1 << std::min(attempt, 6));
    int64_t retry_after = 0;
    if (response.ok() && absl::SimpleAtoi(response->Header("retry-after"), &retry_after) &&
        retry_after > 0) {
      delay = std::max(delay, absl::Seconds(std::min<int64_t>(retry_after, 30)));
    }
    LOG_DEBUG("registry: {} {} failed ({}); retrying in {} ms", request.method,
              Redacted(request.url),
              response.ok() ? absl::StrCat("HTTP ", response->status)
                            : std::string(response.status().message()),
              absl::ToInt64Milliseconds(delay));
    absl::SleepFor(delay);
  }
}

absl::StatusOr<RegistryClient::PingResult> RegistryClient::Ping(const Target& target) {
  std::string key = absl::StrCat(target.api_host, target.insecure ? "|insecure" : "");
  {
    absl::MutexLock lock(&ping_mu_);
    auto it = pings_.find(key);
    if (it != pings_.end() && it->second.expires > absl::Now()) return it->second;
  }
  std::vector<std::string> bases = {absl::StrCat("https://", target.api_host)};
  if (target.insecure) bases.push_back(absl::StrCat("http://", target.api_host));
  absl::Status last;
  for (size_t i = 0; i < bases.size(); ++i) {
    Request request;
    request.url = absl::StrCat(bases[i], "/v2/");
    if (target.insecure) {
      ASSIGN_OR_RETURN(UrlParts parts, ParseUrl(request.url));
      request.relaxed_origin = parts.origin;
    }
    bool last_candidate = i + 1 == bases.size();
    absl::StatusOr<Response> response =
        last_candidate ? SendWithRetries(request, nullptr, {}) : Execute(request, nullptr);
    if (!response.ok()) {
      last = response.status();
      if (!last_candidate && absl::IsUnavailable(last)) continue;
      return Annotate(last, absl::StrCat("registry ", target.registry));
    }
    PingResult result{.base_url = bases[i], .verify_tls = !target.insecure};
    if (response->status == 429 || response->status >= 500) {
      return absl::UnavailableError(
          absl::StrCat("registry ", target.registry, ": /v2/ answered HTTP ", response->status));
    }
    if (response->status == 401) {
      absl::StatusOr<std::vector<AuthChallenge>> challenges =
          ParseWwwAuthenticate(response->Header("www-authenticate"));
      if (!challenges.ok())
        return Annotate(challenges.status(), absl::StrCat("registry ", target.registry));
      result.challenges = *std::move(challenges);
    }
    result.expires = absl::Now() + kPingLifetime;
    absl::MutexLock lock(&ping_mu_);
    pings_[key] = result;
    return result;
  }
  return Annotate(last, absl::StrCat("registry ", target.registry));
}

absl::StatusOr<std::string> RegistryClient::FetchToken(const Target& target,
                                                       const AuthChallenge& challenge,
                                                       const std::string& cache_key) {
  static const Credentials kAnonymous;
  const Credentials& creds = target.creds != nullptr ? *target.creds : kAnonymous;
  std::string context = absl::StrCat("registry ", target.registry, ": token service");
  absl::StatusOr<TokenRequest> token_request = BuildTokenRequest(challenge, target.scope, creds);
  if (!token_request.ok()) return Annotate(token_request.status(), context);
  Request request;
  request.url = token_request->url;
  request.max_body = kMaxTokenResponseBytes;
  if (!token_request->post_form.empty()) {
    request.method = "POST";
    request.post_form = token_request->post_form;
  }
  if (token_request->basic_auth) request.authorization = BasicAuthorization(creds);
  ASSIGN_OR_RETURN(UrlParts realm, ParseUrl(request.url));
  ASSIGN_OR_RETURN(UrlParts base, ParseUrl(target.ping.base_url));
  if (!target.ping.verify_tls && realm.host == base.host) request.relaxed_origin = realm.origin;

  absl::StatusOr<Response> response = SendWithRetries(request, nullptr, {});
  if (!response.ok()) return Annotate(response.status(), context);
  if (response->status == 401 || response->status == 403) {
    return absl::UnauthenticatedError(absl::StrCat(
        "registry ", target.registry, ": authentication failed: the token service refused ",
        creds.empty() ? "an anonymous request" : "the credentials", " (HTTP ", response->status,
        ")", RegistryErrorDetail(response->body)));
  }
  if (response->status != 200) {
    return absl::UnavailableError(absl::StrCat(context, " answered HTTP ", response->status,
                                               RegistryErrorDetail(response->body)));
  }
  absl::StatusOr<BearerToken> token = ParseTokenResponse(response->body, absl::Now());
  if (!token.ok()) return Annotate(token.status(), context);
  std::string value = token->token;
  tokens_.Put(cache_key, *std::move(token));
  return value;
}

absl::StatusOr<std::string> RegistryClient::Authorization(
    const Target& target, const std::vector<AuthChallenge>& challenges, bool fresh) {
  const Credentials* creds = target.creds;
  if (creds != nullptr && !creds->registry_token.empty()) {
    return absl::StrCat("Bearer ", creds->registry_token);
  }
  if (const AuthChallenge* bearer = FindChallenge(challenges, "bearer")) {
    std::string key = absl::StrCat(target.api_host, "|", target.scope, "|", CredentialsKey(creds));
    if (!fresh) {
      if (std::optional<std::string> cached = tokens_.Get(key, absl::Now())) {
        return absl::StrCat("Bearer ", *cached);
      }
    }
    tokens_.Erase(key);
    ASSIGN_OR_RETURN(std::string token, FetchToken(target, *bearer, key));
    return absl::StrCat("Bearer ", token);
  }
  if (FindChallenge(challenges, "basic") != nullptr && creds != nullptr && creds->has_basic()) {
    return BasicAuthorization(*creds);
  }
  return std::string();
}

absl::StatusOr<RegistryClient::Target> RegistryClient::MakeTarget(const PullEndpoint& endpoint,
                                                                  const Credentials& creds) {
  const Reference& ref = endpoint.reference;
  Target target;
  target.registry = ref.domain();
  target.api_host = ref.domain() == kDefaultDomain ? "registry-1.docker.io" : ref.domain();
  target.repository = ref.path();
  target.image = ref.String();
  target.scope = absl::StrCat("repository:", ref.path(), ":pull");
  target.insecure = endpoint.insecure;
  if (!creds.empty()) {
    bool belongs = creds.registry.empty() ? !endpoint.mirror
                                          : absl::AsciiStrToLower(creds.registry) ==
                                                absl::AsciiStrToLower(ref.domain());
    if (belongs) target.creds = &creds;
  }
  ASSIGN_OR_RETURN(target.ping, Ping(target));
  return target;
}

absl::StatusOr<RegistryClient::Response> RegistryClient::AuthorizedGet(
    Target& target, const std::string& path, std::vector<std::string> headers, const BlobSink* sink,
    const std::function<bool()>& can_retry) {
  Request request;
  request.url = absl::StrCat(target.ping.base_url, path);
  request.headers = std::move(headers);
  request.allow_downgrade = target.insecure;
  if (!target.ping.verify_tls) {
    ASSIGN_OR_RETURN(UrlParts parts, ParseUrl(request.url));
    request.relaxed_origin = parts.origin;
  }
  ASSIGN_OR_RETURN(request.authorization,
                   Authorization(target, target.ping.challenges, /*fresh=*/false));
  absl::StatusOr<Response> response = SendWithRetries(request, sink, can_retry);
  if (!response.ok() || response->status != 401) return response;

  // The token expired or the registry wants another scheme than the ping said: renew once.
  absl::StatusOr<std::vector<AuthChallenge>> challenges =
      ParseWwwAuthenticate(response->Header("www-authenticate"));
  if (!challenges.ok()) return response;
  bool answerable =
      FindChallenge(*challenges, "bearer") != nullptr ||
      (target.creds != nullptr && target.creds->has_basic() && request.authorization.empty());
  if (!answerable) return response;
  ASSIGN_OR_RETURN(request.authorization, Authorization(target, *challenges, /*fresh=*/true));
  return SendWithRetries(request, sink, can_retry);
}

namespace {

// The error for a non-success response about `what` ("image X", "blob D of X").
absl::Status StatusForResponse(const std::string& registry, const std::string& what,
                               bool sent_credentials, long status,  // NOLINT
                               const std::string& body) {
  std::string detail = RegistryErrorDetail(body);
  switch (status) {
    case 401:
      return absl::UnauthenticatedError(absl::StrCat(
          "registry ", registry, ": authentication required",
          sent_credentials ? " (the credentials were rejected)" : " (no credentials for it)",
          " pulling ", what, detail));
    case 403:
      return absl::PermissionDeniedError(
          absl::StrCat("registry ", registry, ": access to ", what, " denied", detail));
    case 404:
      return absl::NotFoundError(absl::StrCat(what, " not found in registry ", registry, detail));
    case 429:
      return absl::UnavailableError(
          absl::StrCat("registry ", registry, ": too many requests (HTTP 429) for ", what));
    default:
      if (status >= 500) {
        return absl::UnavailableError(
            absl::StrCat("registry ", registry, ": HTTP ", status, " for ", what, detail));
      }
      return absl::UnknownError(
          absl::StrCat("registry ", registry, ": unexpected HTTP ", status, " for ", what, detail));
  }
}

}  // namespace

absl::StatusOr<FetchedManifest> RegistryClient::GetManifest(const PullEndpoint& endpoint,
                                                            const Credentials& creds) {
  const Reference& ref = endpoint.reference;
  std::string what = absl::StrCat("image ", ref.String());
  ASSIGN_OR_RETURN(Target target, MakeTarget(endpoint, creds));
  std::string bytes;
  const size_t max = options_.max_manifest_bytes;
  BlobSink sink = [&](absl::string_view chunk) {
    if (bytes.size() + chunk.size() > max) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the manifest is larger than ", max, " bytes"));
    }
    bytes.append(chunk.data(), chunk.size());
    return absl::OkStatus();
  };
  auto reset = [&] {
    bytes.clear();
    return true;
  };
  std::string path = absl::StrCat("/v2/", target.repository, "/manifests/",
                                  ref.has_digest() ? ref.digest() : ref.tag());
  absl::StatusOr<Response> response =
      AuthorizedGet(target, path, {absl::StrCat("Accept: ", kManifestAcceptHeader)}, &sink, reset);
  if (!response.ok()) return Annotate(response.status(), absl::StrCat("fetching ", what));
  if (response->status != 200) {
    return StatusForResponse(target.registry, what, target.creds != nullptr, response->status,
                             response->body);
  }
  FetchedManifest out;
  absl::StatusOr<std::string> media_type =
      DetectManifestMediaType(bytes, response->Header("content-type"));
  if (!media_type.ok()) return Annotate(media_type.status(), what);
  out.media_type = *std::move(media_type);
  out.digest = Sha256Of(bytes);
  if (ref.has_digest()) {
    ASSIGN_OR_RETURN(Digester digester, Digester::For(ref.digest()));
    digester.Update(bytes);
    if (std::string actual = digester.Final(); actual != ref.digest()) {
      return absl::DataLossError(absl::StrCat("the manifest served for ", what, " has digest ",
                                              actual, ", not the one asked for"));
    }
  } else if (std::string served = response->Header("docker-content-digest");
             absl::StartsWith(served, "sha256:") && served != out.digest) {
    return absl::DataLossError(absl::StrCat("the manifest served for ", what, " has digest ",
                                            out.digest, " but the registry says ", served));
  }
  out.bytes = std::move(bytes);
  return out;
}

absl::Status RegistryClient::FetchBlob(const PullEndpoint& endpoint, const std::string& digest,
                                       const Credentials& creds, const BlobSink& sink,
                                       int64_t expected_size) {
  RETURN_IF_ERROR(ValidateDigest(digest));
  std::string what = absl::StrCat("blob ", digest, " of ", endpoint.reference.repository());
  ASSIGN_OR_RETURN(Digester digester, Digester::For(digest));
  ASSIGN_OR_RETURN(Target target, MakeTarget(endpoint, creds));
  int64_t delivered = 0;
  BlobSink verifying = [&](absl::string_view chunk) {
    if (expected_size >= 0 && delivered + static_cast<int64_t>(chunk.size()) > expected_size) {
      return absl::DataLossError(
          absl::StrCat("the body is larger than the expected ", expected_size, " bytes"));
    }
    digester.Update(chunk);
    delivered += static_cast<int64_t>(chunk.size());
    return sink(chunk);
  };
  // Once the sink has bytes the transfer cannot start over.
  auto can_retry = [&] { return delivered == 0; };
  absl::StatusOr<Response> response =
      AuthorizedGet(target, absl::StrCat("/v2/", target.repository, "/blobs/", digest), {},
                    &verifying, can_retry);
  if (!response.ok()) return Annotate(response.status(), absl::StrCat("fetching ", what));
  if (response->status != 200) {
    return StatusForResponse(target.registry, what, target.creds != nullptr, response->status,
                             response->body);
  }
  if (expected_size >= 0 && delivered != expected_size) {
    return absl::DataLossError(
        absl::StrCat(what, " is truncated: ", delivered, " of ", expected_size, " bytes"));
  }
  if (std::string actual = digester.Final(); actual != digest) {
    return absl::DataLossError(absl::StrCat(what, " does not match its digest: the ", delivered,
                                            " bytes served hash to ", actual));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RegistryClient::FetchBlobToString(const PullEndpoint& endpoint,
                                                              const std::string& digest,
                                                              const Credentials& creds,
                                                              size_t max_bytes) {
  std::string out;
  RETURN_IF_ERROR(FetchBlob(endpoint, digest, creds, [&](absl::string_view chunk) {
    if (out.size() + chunk.size() > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("blob ", digest, " is larger than ", max_bytes, " bytes"));
    }
    out.append(chunk.data(), chunk.size());
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace berth::image
