{
  "targets": [
    {
      "target_name": "promshard",
      "sources": [
        "native/addon.cc",
        "native/crc32c.cc",
        "native/crc32c_js.cc",
        "native/xor.cc",
        "native/xor_js.cc",
        "native/postings.cc",
        "native/postings_js.cc",
        "native/mmap.cc",
        "native/head_chunks.cc",
        "native/huge_pages.cc",
        "native/block_plan.cc",
        "native/block_plan_js.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=c++17", "-O2"],
      "cflags_cc": ["-std=c++20", "-O3", "-fvisibility=hidden", "-Wall", "-Wextra"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++20",
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-O3"]
      }
    }
  ]
}
