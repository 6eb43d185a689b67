# 32-bit ARM (Pi Zero 2 W / Pi 3 on a 32-bit OS), Debian's gcc-arm-linux-gnueabihf.
TOOLCHAIN_CFLAGS  := -march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard
TOOLCHAIN_LDFLAGS :=
NEON_CFLAGS       := -mfpu=neon-vfpv4
