# Compiler settings shared by every target, carried by one INTERFACE target.
set(CMAKE_CXX_STANDARD 23)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

option(ODBOX_WERROR "Treat warnings as errors (CI)" OFF)
option(ODBOX_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

add_library(odbox_settings INTERFACE)
target_compile_options(odbox_settings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(ODBOX_WERROR)
  target_compile_options(odbox_settings INTERFACE -Werror)
endif()
if(ODBOX_SANITIZE)
  target_compile_options(odbox_settings INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(odbox_settings INTERFACE -fsanitize=address,undefined)
endif()
