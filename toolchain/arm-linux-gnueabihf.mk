# 32-bit ARM (Pi Zero 2 W / Pi 3 on a 32-bit OS), Debian's gcc-arm-linux-gnueabihf.
# ARMv7-A + NEON with VFPv4 (fused multiply-add) and IEEE half-precision conversions (F16 weights);
# the NEON kernels use kernels/arm/neon_compat.h for the AArch64-only intrinsics, and the sdot /
# i8mm variants are not built (the Makefile filters them out for ARCH=arm).  64-bit off_t and inode
# numbers (_FILE_OFFSET_BITS=64): models over 2 GiB map, and readdir works on large filesystems.
TOOLCHAIN_CFLAGS  := -march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard -mfp16-format=ieee -D_FILE_OFFSET_BITS=64
TOOLCHAIN_LDFLAGS :=
NEON_CFLAGS       := -mfpu=neon-vfpv4
