#include "image/registry_auth.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "image/auth_file.h"
#include "image/reference.h"

namespace berth::image {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// --- WWW-Authenticate ------------------------------------------------------------------------

TEST(WwwAuthenticateTest, BearerWithQuotedParams) {
  absl::StatusOr<std::vector<AuthChallenge>> challenges = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
      R"(scope="repository:library/busybox:pull")");
  ASSERT_TRUE(challenges.ok()) << challenges.status();
  ASSERT_EQ(challenges->size(), 1u);
  const AuthChallenge& c = (*challenges)[0];
  EXPECT_EQ(c.scheme, "bearer");
  EXPECT_EQ(c.Param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c.Param("service"), "registry.docker.io");
  EXPECT_EQ(c.Param("scope"), "repository:library/busybox:pull");
  EXPECT_EQ(c.Param("missing"), "");
}

TEST(WwwAuthenticateTest, CommasAndEscapesInsideQuotes) {
  absl::StatusOr<std::vector<AuthChallenge>> challenges = ParseWwwAuthenticate(
      R"(Bearer realm="https://r.example/token?a=1,b=2", scope="repository:a:pull,push",)"
      R"( error="say \"hi\"")");
  ASSERT_TRUE(challenges.ok()) << challenges.status();
  ASSERT_EQ(challenges->size(), 1u);
  EXPECT_EQ((*challenges)[0].Param("realm"), "https://r.example/token?a=1,b=2");
  EXPECT_EQ((*challenges)[0].Param("scope"), "repository:a:pull,push");
  EXPECT_EQ((*challenges)[0].Param("error"), "say \"hi\"");
}

TEST(WwwAuthenticateTest, BasicAndCaseInsensitiveNames) {
  absl::StatusOr<std::vector<AuthChallenge>> challenges =
      ParseWwwAuthenticate(R"(BASIC Realm="Registry Realm")");
  ASSERT_TRUE(challenges.ok()) << challenges.status();
  ASSERT_EQ(challenges->size(), 1u);
  EXPECT_EQ((*challenges)[0].scheme, "basic");
  EXPECT_EQ((*challenges)[0].Param("realm"), "Registry Realm");
}

TEST(WwwAuthenticateTest, MultipleChallengesAndTokenValues) {
  absl::StatusOr<std::vector<AuthChallenge>> challenges = ParseWwwAuthenticate(
      R"(Negotiate abc+/==, Other abc==, Basic realm=simple, Bearer realm="https://t",service=svc)");
  ASSERT_TRUE(challenges.ok()) << challenges.status();
  ASSERT_EQ(challenges->size(), 4u);
  EXPECT_EQ((*challenges)[0].scheme, "negotiate");
  EXPECT_TRUE((*challenges)[0].params.empty());
  EXPECT_EQ((*challenges)[1].scheme, "other");
  EXPECT_TRUE((*challenges)[1].params.empty());
  EXPECT_EQ((*challenges)[2].scheme, "basic");
  EXPECT_EQ((*challenges)[2].Param("realm"), "simple");
  EXPECT_EQ((*challenges)[3].scheme, "bearer");
  EXPECT_EQ((*challenges)[3].Param("realm"), "https://t");
  EXPECT_EQ((*challenges)[3].Param("service"), "svc");
}

TEST(WwwAuthenticateTest, SchemeWithoutParams) {
  absl::StatusOr<std::vector<AuthChallenge>> challenges = ParseWwwAuthenticate("Basic");
  ASSERT_TRUE(challenges.ok()) << challenges.status();
  ASSERT_EQ(challenges->size(), 1u);
  EXPECT_EQ((*challenges)[0].scheme, "basic");
}

TEST(WwwAuthenticateTest, SpacesAroundEquals) {
  absl::StatusOr<std::vector<AuthChallenge>> challenges =
      ParseWwwAuthenticate(R"(Bearer realm = "https://t" , service = x)");
  ASSERT_TRUE(challenges.ok()) << challenges.status();
  EXPECT_EQ((*challenges)[0].Param("realm"), "https://t");
  EXPECT_EQ((*challenges)[0].Param("service"), "x");
}

TEST(WwwAuthenticateTest, Malformed) {
  for (const char* header : {
           "",
           "   ",
           R"(Bearer realm="unterminated)",
           R"(Bearer realm=, service=x)",
           R"(Basic realm="a", x=)",
           R"(Bearer realm="a" service="b")",  // missing comma
           R"(=value)",
           R"("quoted")",
           R"(Bearer realm="a",, =x)",
           R"(Bearer@ realm="a")",
       }) {
    EXPECT_FALSE(ParseWwwAuthenticate(header).ok()) << header;
  }
}

// --- token responses and requests -------------------------------------------------------------

TEST(TokenResponseTest, TokenAndExpiry) {
  absl::Time now = absl::FromUnixSeconds(1000000);
  absl::StatusOr<BearerToken> token =
      ParseTokenResponse(R"({"token":"abc","expires_in":300,"issued_at":"x"})", now);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->token, "abc");
  EXPECT_EQ(token->expires, now + absl::Seconds(300));
}

TEST(TokenResponseTest, AccessTokenAndDefaultExpiry) {
  absl::Time now = absl::FromUnixSeconds(1000000);
  absl::StatusOr<BearerToken> token = ParseTokenResponse(R"({"access_token":"xyz"})", now);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->token, "xyz");
  EXPECT_EQ(token->expires, now + kDefaultTokenLifetime);
  // "token" wins when both are present; a zero expiry means the default.
  token = ParseTokenResponse(R"({"token":"t","access_token":"a","expires_in":0})", now);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->token, "t");
  EXPECT_EQ(token->expires, now + kDefaultTokenLifetime);
}

TEST(TokenResponseTest, Malformed) {
  absl::Time now = absl::Now();
  for (const char* body : {"", "not json", "[]", "{}", R"({"token":""})", R"({"token":5})",
                           R"({"token":"t","expires_in":"soon"})"}) {
    EXPECT_FALSE(ParseTokenResponse(body, now).ok()) << body;
  }
}

TEST(TokenRequestTest, AnonymousGet) {
  AuthChallenge challenge{
      .scheme = "bearer",
      .params = {{"realm", "https://auth.example/token"}, {"service", "reg example"}}};
  absl::StatusOr<TokenRequest> request =
      BuildTokenRequest(challenge, "repository:library/busybox:pull", Credentials());
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->url,
            "https://auth.example/token?service=reg%20example&scope=repository%3Alibrary%2F"
            "busybox%3Apull");
  EXPECT_TRUE(request->post_form.empty());
  EXPECT_FALSE(request->basic_auth);
}

TEST(TokenRequestTest, BasicAuthGetKeepsRealmQuery) {
  AuthChallenge challenge{.scheme = "bearer", .params = {{"realm", "http://t/token?x=1"}}};
  Credentials creds{.username = "u", .password = "p"};
  absl::StatusOr<TokenRequest> request = BuildTokenRequest(challenge, "repository:a:pull", creds);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->url, "http://t/token?x=1&scope=repository%3Aa%3Apull");
  EXPECT_TRUE(request->basic_auth);
}

TEST(TokenRequestTest, IdentityTokenPostsRefreshGrant) {
  AuthChallenge challenge{.scheme = "bearer",
                          .params = {{"realm", "https://t/token"}, {"service", "svc"}}};
  Credentials creds{.username = "<token>", .identity_token = "refresh&me"};
  absl::StatusOr<TokenRequest> request = BuildTokenRequest(challenge, "repository:a:pull", creds);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->url, "https://t/token");
  EXPECT_EQ(request->post_form,
            "grant_type=refresh_token&client_id=berth&service=svc&scope=repository%3Aa%3Apull"
            "&refresh_token=refresh%26me");
  EXPECT_FALSE(request->basic_auth);
}

TEST(TokenRequestTest, BadRealm) {
  for (const char* realm : {"", "file:///etc/passwd", "ftp://x/token", "token"}) {
    AuthChallenge challenge{.scheme = "bearer", .params = {{"realm", realm}}};
    EXPECT_FALSE(BuildTokenRequest(challenge, "s", Credentials()).ok()) << realm;
  }
}

TEST(TokenCacheTest, ExpiresAndErases) {
  TokenCache cache;
  absl::Time now = absl::Now();
  cache.Put("a", BearerToken{.token = "t1", .expires = now + absl::Seconds(60)});
  EXPECT_EQ(cache.Get("a", now), "t1");
  EXPECT_EQ(cache.Get("b", now), std::nullopt);
  EXPECT_EQ(cache.Get("a", now + absl::Seconds(58)), std::nullopt);  // inside the margin
  cache.Erase("a");
  EXPECT_EQ(cache.Get("a", now), std::nullopt);
}

// --- credentials and the auth file ------------------------------------------------------------

TEST(CredentialsTest, FromAuth) {
  absl::StatusOr<Credentials> creds = Credentials::FromAuth(absl::Base64Escape("user:pa:ss"));
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->username, "user");
  EXPECT_EQ(creds->password, "pa:ss");
  EXPECT_FALSE(creds->empty());
  EXPECT_TRUE(Credentials().empty());

  absl::Status bad = Credentials::FromAuth("!!not base64!!").status();
  EXPECT_TRUE(absl::IsInvalidArgument(bad));
  EXPECT_THAT(bad.message(), Not(HasSubstr("!!not")));
  absl::Status no_colon = Credentials::FromAuth(absl::Base64Escape("secretvalue")).status();
  EXPECT_TRUE(absl::IsInvalidArgument(no_colon));
  EXPECT_THAT(no_colon.message(), Not(HasSubstr("secretvalue")));
}

std::string Auth(const std::string& user_pass) { return absl::Base64Escape(user_pass); }

Reference Ref(const std::string& text) {
  absl::StatusOr<Reference> ref = Reference::Parse(text);
  EXPECT_TRUE(ref.ok()) << ref.status();
  return *ref;
}

TEST(AuthFileTest, LongestMatchWins) {
  std::string text = R"({"auths": {
      "registry.example.com": {"auth": ")" +
                     Auth("host:1") + R"("},
      "registry.example.com:5000": {"auth": ")" +
                     Auth("port:2") + R"("},
      "registry.example.com/team": {"auth": ")" +
                     Auth("team:3") + R"("},
      "registry.example.com/team/app": {"auth": ")" +
                     Auth("app:4") + R"("},
      "https://index.docker.io/v1/": {"auth": ")" +
                     Auth("hub:5") + R"("},
      "quay.io": {"auth": ")" +
                     Auth("<token>:") + R"(", "identitytoken": "refresh"}
  }})";
  absl::StatusOr<AuthFile> file = AuthFile::Parse(text, "test.json");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->size(), 6u);

  struct Case {
    std::string ref;
    std::string username;  // "" for no match
  };
  for (const Case& c : std::vector<Case>{
           {"registry.example.com/other/app", "host"},
           {"registry.example.com:5000/team/app", "port"},
           {"registry.example.com/team/x", "team"},
           {"registry.example.com/team/app:v1", "app"},
           {"registry.example.com/team/app2", "team"},
           {"registry.example.com/teamx/app", "host"},
           {"busybox", "hub"},
           {"docker.io/user/app", "hub"},
           {"registry.example.com:6000/app", ""},
           {"other.example.com/app", ""},
       }) {
    absl::StatusOr<std::optional<Credentials>> creds = file->Lookup(Ref(c.ref));
    ASSERT_TRUE(creds.ok()) << c.ref << ": " << creds.status();
    if (c.username.empty()) {
      EXPECT_FALSE(creds->has_value()) << c.ref;
      continue;
    }
    ASSERT_TRUE(creds->has_value()) << c.ref;
    EXPECT_EQ((*creds)->username, c.username) << c.ref;
    EXPECT_EQ((*creds)->registry, Ref(c.ref).domain()) << c.ref;
  }
  absl::StatusOr<std::optional<Credentials>> quay = file->Lookup(Ref("quay.io/a/b"));
  ASSERT_TRUE(quay.ok() && quay->has_value());
  EXPECT_EQ((*quay)->identity_token, "refresh");
  EXPECT_TRUE((*quay)->password.empty());
}

TEST(AuthFileTest, BadEntriesFailOnlyTheirLookups) {
  std::string text = R"({"auths": {
      "bad.example.com": {"auth": "%%%secret%%%"},
      "nocolon.example.com": {"auth": ")" +
                     Auth("justsecret") + R"("},
      "good.example.com": {"auth": ")" +
                     Auth("u:p") + R"("}}})";
  absl::StatusOr<AuthFile> file = AuthFile::Parse(text, "auth.json");
  ASSERT_TRUE(file.ok()) << file.status();
  absl::Status bad = file->Lookup(Ref("bad.example.com/app")).status();
  EXPECT_TRUE(absl::IsInvalidArgument(bad));
  EXPECT_THAT(bad.message(), HasSubstr("bad.example.com"));
  EXPECT_THAT(bad.message(), HasSubstr("auth.json"));
  EXPECT_THAT(bad.message(), Not(HasSubstr("secret")));
  absl::Status nocolon = file->Lookup(Ref("nocolon.example.com/app")).status();
  EXPECT_TRUE(absl::IsInvalidArgument(nocolon));
  EXPECT_THAT(nocolon.message(), Not(HasSubstr("justsecret")));
  EXPECT_TRUE(file->Lookup(Ref("good.example.com/app")).ok());
}

TEST(AuthFileTest, MalformedFiles) {
  for (const char* text : {"", "[]", R"({"auths": []})", R"({"auths": {"a": 1}})",
                           R"({"auths": {"a": {"auth": 5}}})", R"({"auths": {"": {}}})"}) {
    EXPECT_FALSE(AuthFile::Parse(text, "x").ok()) << text;
  }
  absl::StatusOr<AuthFile> empty = AuthFile::Parse(R"({"credHelpers": {}})", "x");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
}

TEST(AuthFileTest, LoadMissingFileIsEmpty) {
  absl::StatusOr<TempDir> dir = TempDir::Make("auth-file-test");
  ASSERT_TRUE(dir.ok());
  absl::StatusOr<AuthFile> missing = AuthFile::Load(dir->path() + "/none.json");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->size(), 0u);

  std::string path = dir->path() + "/auth.json";
  ASSERT_TRUE(
      WriteFileAtomic(path, R"({"auths":{"r.example":{"auth":")" + Auth("a:b") + "\"}}}").ok());
  absl::StatusOr<AuthFile> loaded = AuthFile::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<std::optional<Credentials>> creds = loaded->Lookup(Ref("r.example/x"));
  ASSERT_TRUE(creds.ok() && creds->has_value());
  EXPECT_EQ((*creds)->password, "b");
}

}  // namespace
}  // namespace berth::image
