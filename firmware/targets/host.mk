# host: native build with the system C compiler (HOST_CC), hosted port (clock_gettime).
# The `asan` configuration (firmware/Makefile) is this target with the sanitizers on.
host_CC := $(HOST_CC)
host_AR := ar
host_CFLAGS := -O2 -g -DBNN_TARGET_HOST=1
host_LDFLAGS :=
host_PORT := $(wildcard $(FW)/ports/host/*.c)
host_EXE :=
