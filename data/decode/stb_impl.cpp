// The one translation unit that compiles stb_image and stb_image_write. Only PNG, JPEG, BMP and
// GIF are compiled in (fewer parsers, less attack surface: TGA in particular accepts almost any
// bytes), and stb refuses sides over kMaxImageSide itself, a second guard behind probe_image.
#include "data/decode/image_decode.h"

#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_MAX_DIMENSIONS (::qbh::data::kMaxImageSide)
// Messages come from stbi_failure_reason(), which stb keeps per thread (thread_local in C++);
// USERMSG picks its readable strings ("Corrupt PNG") over the terse ones ("bad zlib header").
#define STBI_FAILURE_USERMSG
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
