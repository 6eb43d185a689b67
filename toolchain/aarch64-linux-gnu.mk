# 64-bit ARM (Raspberry Pi 3/4/5 on a 64-bit OS), Debian's gcc-aarch64-linux-gnu.
# Baseline ARMv8.0-A + ASIMD; dotprod / i8mm variants get their own -march per file.
TOOLCHAIN_CFLAGS  := -march=armv8-a
TOOLCHAIN_LDFLAGS :=
NEON_CFLAGS       :=
