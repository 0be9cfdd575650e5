# Included by CMake right after llama.cpp's project() call (CMAKE_PROJECT_llama.cpp_INCLUDE, set by the Makefile).
# llama-cpp-python forces llama.cpp's "common" library on, with the cpp-httplib it pulls in; its Python code never
# loads it (it binds libllama and libggml only), yet it is more than half of the compile. Turning it off here, after
# the binding's own CMakeLists has forced it on, leaves libllama and the ggml CPU backend exactly as they were.
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "llama: build common utils library" FORCE)
