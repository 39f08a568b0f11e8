#ifndef ZOO_PNG_CODEC_H
#define ZOO_PNG_CODEC_H
// PNG through libpng's full API, with libpng's errors (which it reports by longjmp) caught here
// in C and returned as messages: no long jump ever crosses a Swift frame.
#include <stddef.h>

/// Decodes any PNG (every colour type, bit depth 1-16, palette with or without transparency,
/// interlaced or not) to 8-bit RGBA: palettes and low bit depths expanded, 16-bit samples cut
/// to their high byte, grey copied to R, G and B, alpha 255 where the file has none.
/// A declared size of more than `max_pixels` pixels is refused before anything is allocated.
/// Returns 0 and sets *rgba (free it with zoo_png_free), or with a message: -3 when the file is not
/// a PNG, -2 when its declared size (then in *width, *height) is outside 1 to max_pixels, -1 else.
int zoo_png_read_rgba(const char *path, long max_pixels, int *width, int *height, unsigned char **rgba,
                      char *message, size_t message_size);
void zoo_png_free(unsigned char *pixels);

/// Writes rows already packed in the file's format (colour type and bit depth as the PNG
/// specification numbers them). `palette` holds 3 bytes per entry, `transparency` the tRNS
/// bytes (one alpha per palette entry, or a 2-byte grey / 6-byte RGB key), both may be NULL.
/// Returns 0, or -1 with a message.
int zoo_png_write(const char *path, int width, int height, int color_type, int bit_depth, int interlaced,
                  const unsigned char *packed_rows, size_t row_bytes,
                  const unsigned char *palette, int palette_entries,
                  const unsigned char *transparency, int transparency_bytes,
                  char *message, size_t message_size);
#endif
