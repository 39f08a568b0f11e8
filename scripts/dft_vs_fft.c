// How long the power spectrum of speech frames takes: the DFT as one OpenBLAS product (what
// SpeechRecognition's LogMelExtractor does) against FFTW's real-input FFT, on the same frames
// (400 windowed samples zero-padded to 512, bins 0…256), one thread each.
//
//   sudo apt-get install -y libfftw3-dev
//   cc -O2 scripts/dft_vs_fft.c -o /tmp/dft_vs_fft -lopenblas -lfftw3f -lm
//   OPENBLAS_CORETYPE=Zen /tmp/dft_vs_fft     # the kernel `zoo info` reports
//
// Prints milliseconds per second of audio (100 frames) for both, and the largest difference
// between their power spectra relative to the largest power.
#include <complex.h>   // before fftw3.h: fftwf_complex is then C99 float complex
#include <cblas.h>
#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N = 400, FFT = 512, K = FFT / 2 + 1, FRAMES = 1000, ROUNDS = 50 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    openblas_set_num_threads(1);
    float *frames = malloc(sizeof(float) * FRAMES * N), *basis = malloc(sizeof(float) * N * 2 * K);
    float *spectrum = malloc(sizeof(float) * FRAMES * 2 * K), *power = malloc(sizeof(float) * FRAMES * K);
    float *fftPower = malloc(sizeof(float) * FRAMES * K);
    srand(1);
    for (int i = 0; i < FRAMES * N; i++) frames[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            double angle = 2 * M_PI * (double)(k * n % FFT) / FFT;
            basis[n * 2 * K + k] = (float)cos(angle);
            basis[n * 2 * K + K + k] = (float)-sin(angle);
        }
    // FFTW: all frames as one batch of real 512-point transforms of the zero-padded frames.
    float *in = fftwf_alloc_real(FRAMES * FFT);
    fftwf_complex *out = fftwf_alloc_complex(FRAMES * K);
    int size = FFT;
    fftwf_plan plan = fftwf_plan_many_dft_r2c(1, &size, FRAMES, in, NULL, 1, FFT, out, NULL, 1, K, FFTW_MEASURE);

    double blasBest = 1e9, fftBest = 1e9;
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, FRAMES, 2 * K, N, 1, frames, N, basis, 2 * K, 0, spectrum, 2 * K);
        for (int f = 0; f < FRAMES; f++)
            for (int k = 0; k < K; k++) {
                float re = spectrum[f * 2 * K + k], im = spectrum[f * 2 * K + K + k];
                power[f * K + k] = re * re + im * im;
            }
        double t1 = now();
        for (int f = 0; f < FRAMES; f++) {
            for (int n = 0; n < N; n++) in[f * FFT + n] = frames[f * N + n];
            for (int n = N; n < FFT; n++) in[f * FFT + n] = 0;
        }
        fftwf_execute(plan);
        for (int i = 0; i < FRAMES * K; i++) fftPower[i] = crealf(out[i]) * crealf(out[i]) + cimagf(out[i]) * cimagf(out[i]);
        double t2 = now();
        if (t1 - t0 < blasBest) blasBest = t1 - t0;
        if (t2 - t1 < fftBest) fftBest = t2 - t1;
    }
    float largest = 0, difference = 0;
    for (int i = 0; i < FRAMES * K; i++) {
        if (power[i] > largest) largest = power[i];
        if (fabsf(power[i] - fftPower[i]) > difference) difference = fabsf(power[i] - fftPower[i]);
    }
    double perSecond = 100.0 / FRAMES * 1000;   // ms per 100 frames
    printf("{\"blas_dft_ms_per_audio_second\": %.4f, \"fftw_ms_per_audio_second\": %.4f, \"max_relative_difference\": %.2e}\n",
           blasBest * perSecond, fftBest * perSecond, difference / largest);
    fftwf_destroy_plan(plan);
    return 0;
}
