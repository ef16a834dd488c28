// toml++'s implementation, compiled into berthd when it is linked with static dependencies
// (Debian ships toml++ only as a shared library; see cmake/BerthStaticDeps.cmake). Every file
// includes toml++ with the package's -DTOML_HEADER_ONLY=0; this one also defines
// TOML_IMPLEMENTATION, which is how the library itself is built.
#define TOML_IMPLEMENTATION 1
#include <toml++/toml.h>
