#include "png_codec.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Where libpng's error handler leaves its message before it jumps back to our setjmp.
typedef struct {
    char *message;
    size_t size;
} error_sink;

static void on_error(png_structp png, png_const_charp text) {
    error_sink *sink = png_get_error_ptr(png);
    if (sink && sink->size) snprintf(sink->message, sink->size, "%s", text);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp text) { (void)png; (void)text; }

static void set_message(char *message, size_t size, const char *text) {
    if (size) snprintf(message, size, "%s", text);
}

int zoo_png_read_rgba(const char *path, long max_pixels, int *width, int *height, unsigned char **rgba,
                      char *message, size_t message_size) {
    *rgba = NULL;
    set_message(message, message_size, "");
    FILE *file = fopen(path, "rb");
    if (!file) {
        set_message(message, message_size, "cannot open the file");
        return -1;
    }
    unsigned char signature[8];
    size_t got = fread(signature, 1, 8, file);
    if (got == 0) {
        fclose(file);
        set_message(message, message_size, "the file is empty");
        return -1;
    }
    if (got < 8 || png_sig_cmp(signature, 0, 8) != 0) {
        fclose(file);
        set_message(message, message_size, "not a PNG file (its first bytes are not the PNG signature)");
        return -3;
    }
    error_sink sink = {message, message_size};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        if (png) png_destroy_read_struct(&png, NULL, NULL);
        fclose(file);
        set_message(message, message_size, "out of memory");
        return -1;
    }
    // Everything allocated after setjmp is reached through volatile locals.
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    volatile int status = -1;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        free(pixels);
        fclose(file);
        return status;
    }
    png_init_io(png, file);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (w == 0 || h == 0 || (double)w * (double)h > (double)max_pixels) {
        *width = (int)w;
        *height = (int)h;
        status = -2;
        snprintf(message, message_size, "the header declares %lu x %lu pixels, outside the sizes read (1 to %ld pixels)",
                 (unsigned long)w, (unsigned long)h, max_pixels);
        png_longjmp(png, 1);
    }
    int color = png_get_color_type(png, info);
    png_set_expand(png);                 // palette -> RGB, grey < 8 bits -> 8, tRNS -> alpha
    png_set_strip_16(png);               // 16-bit samples -> their high byte
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if (!(color & PNG_COLOR_MASK_ALPHA) && !png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t stride = png_get_rowbytes(png, info);
    if (stride != (size_t)w * 4) {
        snprintf(message, message_size, "unexpected decoded row of %zu bytes for %lu pixels", stride, (unsigned long)w);
        png_longjmp(png, 1);
    }
    pixels = malloc(stride * h);
    rows = malloc(sizeof(png_bytep) * h);
    if (!pixels || !rows) {
        snprintf(message, message_size, "out of memory for %lu x %lu pixels", (unsigned long)w, (unsigned long)h);
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + y * stride;
    png_read_image(png, rows);
    png_read_end(png, NULL);             // checks the chunks after the image data too
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    fclose(file);
    *width = (int)w;
    *height = (int)h;
    *rgba = pixels;
    return 0;
}

void zoo_png_free(unsigned char *pixels) { free(pixels); }

int zoo_png_write(const char *path, int width, int height, int color_type, int bit_depth, int interlaced,
                  const unsigned char *packed_rows, size_t row_bytes,
                  const unsigned char *palette, int palette_entries,
                  const unsigned char *transparency, int transparency_bytes,
                  char *message, size_t message_size) {
    set_message(message, message_size, "");
    FILE *file = fopen(path, "wb");
    if (!file) {
        set_message(message, message_size, "cannot create the file");
        return -1;
    }
    error_sink sink = {message, message_size};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        if (png) png_destroy_write_struct(&png, NULL);
        fclose(file);
        set_message(message, message_size, "out of memory");
        return -1;
    }
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        fclose(file);
        return -1;
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bit_depth, color_type,
                 interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette && palette_entries > 0) {
        png_color colors[256];
        for (int i = 0; i < palette_entries && i < 256; i++) {
            colors[i].red = palette[3 * i];
            colors[i].green = palette[3 * i + 1];
            colors[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, colors, palette_entries);
    }
    if (transparency && transparency_bytes > 0) {
        if (color_type == PNG_COLOR_TYPE_PALETTE) {
            png_set_tRNS(png, info, transparency, transparency_bytes, NULL);
        } else {
            png_color_16 key = {0};
            if (color_type == PNG_COLOR_TYPE_GRAY) {
                key.gray = (png_uint_16)(transparency[0] << 8 | transparency[1]);
            } else {
                key.red = (png_uint_16)(transparency[0] << 8 | transparency[1]);
                key.green = (png_uint_16)(transparency[2] << 8 | transparency[3]);
                key.blue = (png_uint_16)(transparency[4] << 8 | transparency[5]);
            }
            png_set_tRNS(png, info, NULL, 0, &key);
        }
    }
    png_write_info(png, info);
    rows = malloc(sizeof(png_bytep) * (size_t)height);
    if (!rows) {
        snprintf(message, message_size, "out of memory");
        png_longjmp(png, 1);
    }
    for (int y = 0; y < height; y++) rows[y] = (png_bytep)(packed_rows + (size_t)y * row_bytes);
    png_write_image(png, rows);          // runs the Adam7 passes itself when interlaced
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    if (fclose(file) != 0) {
        set_message(message, message_size, "could not finish writing the file");
        return -1;
    }
    return 0;
}
