#include "image/curl_library.h"

#include "gtest/gtest.h"

namespace berth::image {
namespace {

TEST(CurlLibraryTest, LoadsOnceAndResolvesEveryFunction) {
  ASSERT_TRUE(LoadCurl().ok()) << LoadCurl();
  EXPECT_TRUE(LoadCurl().ok());  // a second call answers from the first
  const CurlLibrary& curl = Curl();
  for (const void* fn : {reinterpret_cast<const void*>(curl.global_init),
                         reinterpret_cast<const void*>(curl.easy_init),
                         reinterpret_cast<const void*>(curl.easy_setopt),
                         reinterpret_cast<const void*>(curl.easy_perform),
                         reinterpret_cast<const void*>(curl.easy_getinfo),
                         reinterpret_cast<const void*>(curl.easy_cleanup),
                         reinterpret_cast<const void*>(curl.easy_strerror),
                         reinterpret_cast<const void*>(curl.slist_append),
                         reinterpret_cast<const void*>(curl.slist_free_all),
                         reinterpret_cast<const void*>(curl.url),
                         reinterpret_cast<const void*>(curl.url_cleanup),
                         reinterpret_cast<const void*>(curl.url_set),
                         reinterpret_cast<const void*>(curl.url_get),
                         reinterpret_cast<const void*>(curl.free)}) {
    EXPECT_NE(fn, nullptr);
  }
  CURL* handle = curl.easy_init();
  ASSERT_NE(handle, nullptr);
  EXPECT_EQ(curl.easy_setopt(handle, CURLOPT_URL, "http://127.0.0.1:1/"), CURLE_OK);
  curl.easy_cleanup(handle);
}

}  // namespace
}  // namespace berth::image
