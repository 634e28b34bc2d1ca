/* The OCI architecture name of the machine we were built for. */
#ifndef HUTCH_ARCH_H
#define HUTCH_ARCH_H

#if defined(__x86_64__)
#define HUTCH_ARCH "amd64"
#elif defined(__aarch64__)
#define HUTCH_ARCH "arm64"
#elif defined(__i386__)
#define HUTCH_ARCH "386"
#elif defined(__arm__)
#define HUTCH_ARCH "arm"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HUTCH_ARCH "ppc64le"
#elif defined(__s390x__)
#define HUTCH_ARCH "s390x"
#elif defined(__riscv) && __riscv_xlen == 64
#define HUTCH_ARCH "riscv64"
#else
#define HUTCH_ARCH "unknown"
#endif

#endif
